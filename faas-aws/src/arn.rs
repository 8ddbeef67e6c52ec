//! The invoked function ARN: `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.

/// The parts of an invoked function ARN that the conventions use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokedArn<'a> {
    /// The ARN as invoked.
    pub arn: &'a str,
    /// `cloud.account.id`: the fifth `:` field.
    pub account_id: &'a str,
    /// The region field.
    pub region: &'a str,
    /// The function name.
    pub function_name: &'a str,
    /// Version or alias, when the invocation named one.
    pub qualifier: Option<&'a str>,
}

impl<'a> InvokedArn<'a> {
    /// Parses a Lambda function ARN; `None` for anything else.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.split(':');
        let (Some("arn"), Some(_partition), Some("lambda"), Some(region), Some(account_id)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (Some("function"), Some(function_name)) = (parts.next(), parts.next()) else {
            return None;
        };
        let qualifier = parts.next();
        if parts.next().is_some() || account_id.is_empty() || function_name.is_empty() {
            return None;
        }
        Some(Self {
            arn,
            account_id,
            region,
            function_name,
            qualifier,
        })
    }

    /// `cloud.resource_id`: the function ARN with an alias resolved to `version` (the
    /// running `AWS_LAMBDA_FUNCTION_VERSION`); an unqualified ARN stays unqualified.
    pub fn resource_id(&self, version: Option<&str>) -> String {
        match (self.qualifier, version) {
            (Some(q), Some(v))
                if q != v && !q.chars().all(|c| c.is_ascii_digit()) && q != "$LATEST" =>
            {
                let base = &self.arn[..self.arn.len() - q.len() - 1];
                format!("{base}:{v}")
            }
            _ => self.arn.to_owned(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn arn_table() {
        let arn = InvokedArn::parse("arn:aws:lambda:eu-west-1:123456789012:function:orders:live")
            .unwrap();
        assert_eq!(arn.account_id, "123456789012");
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.function_name, "orders");
        assert_eq!(arn.qualifier, Some("live"));
        assert_eq!(
            arn.resource_id(Some("7")),
            "arn:aws:lambda:eu-west-1:123456789012:function:orders:7"
        );
        let plain =
            InvokedArn::parse("arn:aws:lambda:us-east-1:123456789012:function:orders").unwrap();
        assert_eq!(plain.resource_id(Some("3")), plain.arn);
        let version =
            InvokedArn::parse("arn:aws:lambda:us-east-1:123456789012:function:orders:3").unwrap();
        assert_eq!(version.resource_id(Some("3")), version.arn);
        for bad in [
            "",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-east-1::function:f",
            "arn:aws:lambda:us-east-1:1:layer:l:1",
            "arn:aws:lambda:us-east-1:1:function:f:1:extra",
        ] {
            assert_eq!(InvokedArn::parse(bad), None, "{bad}");
        }
    }
}
