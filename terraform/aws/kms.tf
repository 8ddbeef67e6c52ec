# One customer-managed key encrypts the functions' environment variables (they may carry the
# OTLP headers, i.e. an API key) and their CloudWatch log groups.

resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}: Lambda environment variables and CloudWatch log groups"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:a key policy's "*" resource means this key only; the account's IAM administrators manage it, as in AWS's default key policy
  #checkov:skip=CKV_AWS_111:a key policy's "*" resource means this key only; the account's IAM administrators manage it, as in AWS's default key policy
  #checkov:skip=CKV_AWS_356:a key policy's "*" resource means this key only
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsOfTheseFunctions"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*"]
    }
  }
}
