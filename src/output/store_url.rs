//! The client of an object store `--out` ([`StoreUrl`], parsed in `crate::location`):
//! credentials come from each cloud's usual environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`, read
//! by the `object_store` builders' `from_env`) and are never logged. Each cloud's client is
//! behind its cargo feature (`s3`, `gcs`, `azure`).

use std::sync::Arc;

use object_store::ObjectStore;

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
use super::store_error::{tag_credentials, CONNECT};
use super::OutputError;
pub use crate::location::{local_path, BadUrl, Cloud, Location, StoreUrl};

impl StoreUrl {
    /// The client: the cloud's builder from its environment, then this URL's bucket. Failures
    /// of its credential chain are marked, so that they read "no credentials found"
    /// ([`super::StoreProblem`]). A cloud whose cargo feature this build left out is refused,
    /// naming the feature.
    pub fn connect(&self) -> Result<Arc<dyn ObjectStore>, OutputError> {
        #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
        let store = |source| OutputError::Store {
            op: CONNECT,
            url: self.url_of(""),
            source,
        };
        #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
        let url = self.base().to_string();
        // Each cloud's builder is built once to read its credential chain, then again with
        // that chain tagged (the builders are distinct types with the same methods).
        #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
        macro_rules! tagged {
            ($builder:expr) => {{
                let builder = || $builder.with_url(&url);
                let chain = builder().build().map_err(store)?.credentials().clone();
                Arc::new(
                    builder()
                        .with_credentials(tag_credentials(chain))
                        .build()
                        .map_err(store)?,
                )
            }};
        }
        match self.cloud() {
            #[cfg(feature = "s3")]
            Cloud::S3 => Ok(tagged!(object_store::aws::AmazonS3Builder::from_env())),
            #[cfg(feature = "gcs")]
            Cloud::Gcs => Ok(tagged!(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
            )),
            #[cfg(feature = "azure")]
            Cloud::Azure => Ok(tagged!(
                object_store::azure::MicrosoftAzureBuilder::from_env()
            )),
            #[allow(unreachable_patterns)]
            cloud => Err(self.not_built(cloud.feature())),
        }
    }

    fn not_built(&self, feature: &'static str) -> OutputError {
        OutputError::NotBuilt {
            url: self.url_of(""),
            feature,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<StoreUrl>, String> {
        StoreUrl::parse(std::path::Path::new(s)).map_err(|e| e.to_string())
    }

    #[test]
    fn a_cloud_built_out_is_refused_naming_its_feature() {
        let u = parse("gs://bucket/p").unwrap().unwrap();
        assert_eq!(
            u.not_built(u.cloud().feature()).to_string(),
            "--out gs://bucket/p: this fauna-sync was built without the `gcs` feature, which object stores of this kind need; build it with `cargo build --features gcs` (or the default features)"
        );
        #[cfg(not(feature = "gcs"))]
        assert_eq!(
            u.connect().err().map(|e| e.to_string()),
            Some(u.not_built("gcs").to_string())
        );
    }
}
