//! Engine limits: a query over the memory cap fails with Defender's wording and the
//! engine keeps answering.

use engine::{Engine, EngineConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_cap_fails_the_query_not_the_process() {
    let engine = Engine::with_config(EngineConfig {
        memory_limit: Some(2 * 1024 * 1024),
        target_partitions: Some(2),
    });
    let err = engine
        .query("range x from 1 to 3000000 step 1 | summarize make_list(x)")
        .await
        .expect_err("a 3M-element list does not fit in 2 MiB");
    assert!(
        err.message.contains("excessive resource consumption"),
        "{}",
        err.message
    );
    let ok = engine
        .query("print x = 1")
        .await
        .expect("the engine still answers");
    assert_eq!(ok.num_rows(), 1);
}
