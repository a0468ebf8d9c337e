//! GCS V4 and Azure SAS signing throughput on one thread: the batch paths a response uses and
//! the general paths. Run with `cargo bench --bench signing_cloud`. The RSA key is the
//! conformance suite's dummy service account (`tests/vectors/gcs`).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use opensharing::signing::azure::{
    AzureBlobPresigner, BlobEndpoint, SasCredential, SasParams, SasResource, SasSigner, SigningKey,
};
use opensharing::signing::gcs::{
    GcsCredentials, GcsLocation, GcsPresigner, GcsRequest, GcsUrlStyle, HmacKey, ServiceAccountKey,
};

#[path = "support/rate.rs"]
mod rate;
use rate::rate;

fn service_account() -> Arc<ServiceAccountKey> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/gcs/test_service_account.not-a-test.json");
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Arc::new(ServiceAccountKey::from_json(&json).unwrap())
}

fn main() {
    let now = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
    let keys: Vec<String> = (0..1024)
        .map(|i| {
            format!("tables/trips/city=paris/part-{i:05}-3f8a9aad-d6c1-4c36-8158-1c58fdc75566.c000.snappy.parquet")
        })
        .collect();
    let key = |i: u32| keys[(i & 1023) as usize].as_str();
    let mut out = String::with_capacity(1024);

    let location = GcsLocation::new("lake", None, GcsUrlStyle::PathStyle).unwrap();
    let hmac = GcsPresigner::new(
        location.clone(),
        GcsCredentials::Hmac(HmacKey::new("GOOG1EXAMPLEACCESSID", "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ").unwrap()),
    );
    let batch = hmac.batch(now, 3600).unwrap();
    rate("GCS GOOG4-HMAC-SHA256, batch", 300_000, |i| {
        out.clear();
        batch.presign_get(key(i), &mut out).unwrap();
        black_box(&out);
    });
    rate("GCS GOOG4-HMAC-SHA256, general", 100_000, |i| {
        black_box(hmac.presign(&GcsRequest::get(key(i), 3600), now).unwrap());
    });
    let rsa = GcsPresigner::new(location, GcsCredentials::ServiceAccount(service_account()));
    let batch = rsa.batch(now, 3600).unwrap();
    rate("GCS GOOG4-RSA-SHA256 (2048-bit), batch", 2_000, |i| {
        out.clear();
        batch.presign_get(key(i), &mut out).unwrap();
        black_box(&out);
    });

    let endpoint = BlobEndpoint::for_account("acct");
    let account_key = SigningKey::from_base64(
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    )
    .unwrap();
    let signer = SasSigner::new("acct", SasCredential::AccountKey(account_key)).unwrap();
    let presigner = AzureBlobPresigner::new(endpoint.clone(), signer.clone(), "lake").unwrap();
    let batch = presigner.batch(now, 3600).unwrap();
    rate("Azure service SAS (sr=b, sp=r), batch", 300_000, |i| {
        out.clear();
        batch.presign_get(key(i), &mut out).unwrap();
        black_box(&out);
    });
    let expiry = now + time::Duration::hours(1);
    rate("Azure service SAS (sr=b, sp=r), general + URL", 100_000, |i| {
        let resource = SasResource::Blob { container: "lake", blob: key(i) };
        let token = signer.sign(&SasParams::read(resource, expiry)).unwrap();
        black_box(endpoint.url(&resource, &token));
    });
}
