//! Issue 16 item 4: `blynk import` after a lost answer. A request the server applied and then
//! dropped is settled within the run when the history can be read back; when it cannot, the run
//! fails naming the points whose outcome is unknown, and its hint is the exact command that
//! finishes the import, with `--skip-existing`. Running that command, or the original one with
//! `--skip-existing`, stores every point exactly once (checked in the simulator's history and
//! request log). Also the hints after a 429 that retries did not get past and after a 404.

mod common;

use blynk_api_ext::api::operations::{GET_DEVICE_DATA_STREAM_HISTORY, IMPORT_DEVICE_BATCH_DATA};
use blynk_sim::BlynkSim;
use blynk_sim::rules::{Action, FaultRule};
use common::{Run, applied_import_points, blynk, imports, ok, points_csv, whole_bodies, write};

const START: i64 = 1_700_000_000_000;
const POINTS: i64 = 25_000;

/// The history the file of [`points_csv`]`(START, POINTS, 500)` holds, each point once.
fn expected() -> Vec<(i64, f64)> {
    (0..POINTS)
        .map(|i| (START + i * 1000, (i % 500) as f64 / 10.0))
        .collect()
}

/// The history holds each point of the file, and the request log shows each applied exactly
/// once (the simulator's history keeps one point per timestamp, so it alone cannot show a point
/// stored twice).
fn assert_each_point_stored_once(sim: &BlynkSim) {
    assert_eq!(sim.history(11, 2), expected());
    let applied = applied_import_points(sim);
    let twice: Vec<(&i64, &u32)> = applied.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "{} timestamps applied more than once, the first {:?}",
        twice.len(),
        twice.first()
    );
    assert_eq!(applied.len(), POINTS as usize);
}

/// The second import request is applied, then its connection dropped.
fn second_import_applied_then_dropped() -> FaultRule {
    FaultRule::operation(IMPORT_DEVICE_BATCH_DATA.id)
        .nth(2)
        .then(Action::ApplyThenDrop)
}

/// A simulator that applies the second import, loses its answer, and cannot serve the history
/// that would settle it: a run that cannot finish.
async fn lost_answer_history_unreadable() -> BlynkSim {
    whole_bodies()
        .rule(second_import_applied_then_dropped())
        .rule(FaultRule::operation(GET_DEVICE_DATA_STREAM_HISTORY.id))
        .start()
        .await
        .unwrap()
}

/// The command in the failure's hint (between backquotes), as arguments after `blynk`.
fn hinted_command(run: &Run) -> Vec<String> {
    let hint = run
        .stderr
        .split("(hint: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no hint in {}", run.stderr));
    let command = hint
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no command in the hint {hint}"));
    let words: Vec<String> = command.split(' ').map(str::to_string).collect();
    assert_eq!(words[0], "blynk", "{command}");
    words[1..].to_vec()
}

async fn run_words(sim: &BlynkSim, words: &[String]) -> Run {
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    blynk(sim, &args, &[]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_lost_after_an_applied_import_is_settled_within_the_run() {
    let sim = whole_bodies()
        .rule(second_import_applied_then_dropped())
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", &points_csv(START, POINTS, 500));

    let run = blynk(&sim, &["import", "11", "2", &file], &[]).await;
    ok(&run);
    assert!(
        run.stdout.contains(
            "; 1 request without an answer, checked against the history (10 history pages \
             read): 10000 points found stored, 0 sent again\n"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(imports(&sim), 3, "the dropped chunk is not sent again");
    assert_each_point_stored_once(&sim);

    // Running it again with --skip-existing sends nothing and changes nothing.
    let again = blynk(&sim, &["import", "11", "2", &file, "--skip-existing"], &[]).await;
    ok(&again);
    assert!(
        again
            .stdout
            .starts_with("imported 0 points in 0 requests (0 skipped as more than 30 days ahead); 25000 already stored and not sent"),
        "{}",
        again.stdout
    );
    assert_eq!(imports(&sim), 3);
    assert_each_point_stored_once(&sim);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_outcome_the_run_cannot_settle_ends_with_the_command_that_finishes_it() {
    // The second chunk is applied and its answer lost, and the history cannot be read back.
    let sim = lost_answer_history_unreadable().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", &points_csv(START, POINTS, 500));
    assert!(!file.contains(' ') && !file.contains('\''));

    let failed = blynk(&sim, &["import", "11", "2", &file], &[]).await;
    assert_eq!(failed.code, 9, "{}", failed.stderr);
    assert!(
        failed.stderr.contains(
            "import stopped after 10000 points stored by this run, 10000 points whose outcome \
             is unknown (input positions 10000-19999; they may be stored)"
        ),
        "{}",
        failed.stderr
    );
    let next = hinted_command(&failed);
    assert_eq!(
        next.join(" "),
        format!("import 11 2 {file} --resume-from 10000 --skip-existing")
    );
    assert!(!failed.stderr.contains("twice"), "{}", failed.stderr);
    assert_eq!(
        sim.history(11, 2).len(),
        20_000,
        "the lost chunk is stored; a plain resume would store it again"
    );

    // The server recovers; the hinted command finishes the import.
    sim.set_rules(Vec::new()).unwrap();
    let resumed = run_words(&sim, &next).await;
    ok(&resumed);
    assert!(
        resumed.stdout.contains("imported 5000 points in 1 request"),
        "{}",
        resumed.stdout
    );
    assert!(
        resumed.stdout.contains("10000 already stored and not sent"),
        "{}",
        resumed.stdout
    );
    assert_each_point_stored_once(&sim);
    assert_eq!(imports(&sim), 3, "two before the failure, one to finish");

    // The original command with --skip-existing converges too: nothing left to send.
    let whole = blynk(&sim, &["import", "11", "2", &file, "--skip-existing"], &[]).await;
    ok(&whole);
    assert!(
        whole.stdout.starts_with("imported 0 points in 0 requests"),
        "{}",
        whole.stdout
    );
    assert_eq!(imports(&sim), 3);
    assert_each_point_stored_once(&sim);
}

#[tokio::test(flavor = "multi_thread")]
async fn rerunning_the_whole_command_with_skip_existing_after_an_unknown_outcome_stores_each_point_once()
 {
    let sim = lost_answer_history_unreadable().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", &points_csv(START, POINTS, 500));
    let failed = blynk(&sim, &["import", "11", "2", &file], &[]).await;
    assert_eq!(failed.code, 9, "{}", failed.stderr);

    sim.set_rules(Vec::new()).unwrap();
    let whole = blynk(&sim, &["import", "11", "2", &file, "--skip-existing"], &[]).await;
    ok(&whole);
    assert!(
        whole.stdout.contains("20000 already stored and not sent"),
        "{}",
        whole.stdout
    );
    assert_each_point_stored_once(&sim);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_404_after_some_chunks_says_to_fix_it_then_continue_without_skip_existing() {
    let sim = whole_bodies()
        .rule(
            FaultRule::operation(IMPORT_DEVICE_BATCH_DATA.id)
                .nth(2)
                .then(Action::Status {
                    status: 404,
                    retry_after: None,
                }),
        )
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", &points_csv(START, POINTS, 500));
    let failed = blynk(&sim, &["import", "11", "2", &file], &[]).await;
    assert_eq!(failed.code, 7, "{}", failed.stderr);
    assert!(
        failed.stderr.contains(
            "check the device and datastream IDs, and that the token may see them; then \
             continue with `blynk import 11 2"
        ),
        "{}",
        failed.stderr
    );
    let next = hinted_command(&failed);
    assert_eq!(
        next.join(" "),
        format!("import 11 2 {file} --resume-from 10000")
    );
    ok(&run_words(&sim, &next).await);
    assert_each_point_stored_once(&sim);
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_existing_refuses_a_file_out_of_time_order_before_sending() {
    let sim = BlynkSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "p.csv",
        "ts,value\n1700000002000,1\n1700000001000,2\n",
    );
    let run = blynk(&sim, &["import", "11", "2", &file, "--skip-existing"], &[]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(":3:1: this point is earlier than the one before it"),
        "{}",
        run.stderr
    );
    assert_eq!(sim.request_count(), 0, "nothing was sent");
    // Without --skip-existing the order does not matter.
    ok(&blynk(&sim, &["import", "11", "2", &file], &[]).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_import_help_documents_skip_existing() {
    let sim = BlynkSim::start().await.unwrap();
    let help = blynk(&sim, &["import", "--help"], &[]).await;
    ok(&help);
    assert!(help.stdout.contains("--skip-existing"), "{}", help.stdout);
    assert!(help.stdout.contains("--reconcile-wait"), "{}", help.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_after_a_lost_answer_still_resumes_with_skip_existing() {
    // Two imports per device, then 429 until the simulator's clock moves on; the second import
    // is applied and its answer lost, and the run settles it before the third meets the limit.
    let sim = whole_bodies()
        .rule(second_import_applied_then_dropped())
        .import_limit(blynk_sim::ImportLimit {
            burst: 2,
            per_second: 0.0001,
        })
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", &points_csv(START, POINTS, 500));
    let failed = blynk(&sim, &["import", "11", "2", &file], &[]).await;
    assert_eq!(failed.code, 8, "{}", failed.stderr);
    assert!(
        failed.stderr.contains(
            "(hint: an answer was lost after points were sent, so some may be stored; the server \
             limits imports per device: wait a minute, then run `blynk import"
        ),
        "{}",
        failed.stderr
    );
    let next = hinted_command(&failed);
    assert_eq!(
        next.join(" "),
        format!("import 11 2 {file} --resume-from 20000 --skip-existing")
    );
    sim.advance_clock(std::time::Duration::from_secs(100_000));
    ok(&run_words(&sim, &next).await);
    assert_each_point_stored_once(&sim);
}

#[tokio::test(flavor = "multi_thread")]
async fn under_json_the_next_command_is_a_field_of_the_error() {
    let sim = lost_answer_history_unreadable().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", &points_csv(START, POINTS, 500));
    let failed = blynk(&sim, &["import", "11", "2", &file, "--json"], &[]).await;
    assert_eq!(failed.code, 9, "{}", failed.stderr);
    let error: serde_json::Value = serde_json::from_str(failed.stderr.trim()).unwrap();
    assert_eq!(
        error["error"]["next"],
        format!("blynk --json import 11 2 {file} --resume-from 10000 --skip-existing")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn never_resend_stops_when_the_server_is_slower_than_the_wait_and_the_hint_finishes_once() {
    // The lost chunk is applied but shows in the history only after an hour of simulator time,
    // long past a 1 s wait: by default its points would be sent again (stored twice).
    let sim = BlynkSim::builder()
        .rule(second_import_applied_then_dropped())
        .import_visibility_delay(std::time::Duration::from_secs(3_600))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", &points_csv(START, POINTS, 500));

    let failed = blynk(
        &sim,
        &[
            "import",
            "11",
            "2",
            &file,
            "--reconcile-wait",
            "1s",
            "--never-resend",
        ],
        &[],
    )
    .await;
    assert_eq!(
        failed.code, 10,
        "a lost answer is a network failure: {}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("(input positions 10000-19999; they may be stored)"),
        "{}",
        failed.stderr
    );
    assert_eq!(imports(&sim), 2, "nothing sent after the lost answer");
    let next = hinted_command(&failed);
    assert_eq!(
        next.join(" "),
        format!(
            "import 11 2 {file} --resume-from 10000 --skip-existing --reconcile-wait 1s \
             --never-resend"
        )
    );

    // The server catches up; the hinted command sends only the points it never got.
    sim.advance_clock(std::time::Duration::from_secs(3_600));
    let resumed = run_words(&sim, &next).await;
    ok(&resumed);
    assert!(
        resumed.stdout.contains("imported 5000 points in 1 request"),
        "{}",
        resumed.stdout
    );
    assert_eq!(imports(&sim), 3, "each point sent once in all");
    // The resumed request shows after the simulator's hour too.
    sim.advance_clock(std::time::Duration::from_secs(3_600));
    assert!(
        sim.history(11, 2) == expected(),
        "history differs from the file"
    );
}

/// The file is checked whole before anything is sent. If it then changes and reading it again
/// fails, the import used to take the bad line for the end of the file and report success; it now
/// stores the points before it and fails naming the line, with the command that finishes.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_turns_bad_after_its_check_fails_instead_of_ending_early() {
    use blynk_cli::cmd::{Context, import};
    let sim = whole_bodies().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "p.csv", &points_csv(START, 20, 500));
    let args = import::Args {
        device: 11,
        datastream: 2,
        file: file.clone().into(),
        format: None,
        resume_from: 0,
        skip_existing: false,
        reconcile_wait: None,
        never_resend: false,
    };
    let ctx = Context {
        json: false,
        now: jiff::Timestamp::now(),
    };
    let plan = args.plan(&ctx).unwrap();
    let mut changed = points_csv(START, 10, 500);
    changed.push_str("not a time,1\n");
    std::fs::write(&file, changed).unwrap();
    let blynk = blynk_api_ext::Blynk::builder()
        .base_url(sim.base_url())
        .token(blynk_sim::DEMO_TOKEN)
        .build()
        .unwrap();
    let failure = plan
        .run(&blynk, &ctx, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(failure.exit, blynk_cli::exit::Exit::Input, "{failure:?}");
    assert!(
        failure.message.contains("changed after it was checked")
            && failure.message.contains(":12:"),
        "{}",
        failure.message
    );
    assert!(
        failure
            .next
            .as_deref()
            .is_some_and(|n| n.contains("--resume-from 10")),
        "{failure:?}"
    );
    assert_eq!(sim.history(11, 2).len(), 10);
}
