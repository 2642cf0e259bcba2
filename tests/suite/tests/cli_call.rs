//! `plugin-host call LIB Trait.method ARG...` as a user runs it.

use plugin_tests::{plugin_host, plugins};
use snapbox::cmd::Command;

fn call(package: &str, args: &[&str]) -> snapbox::cmd::OutputAssert {
    Command::new(plugin_host())
        .arg("call")
        .arg(plugins().path(package))
        .args(args)
        .assert()
}

#[test]
fn a_bare_string_argument_is_the_string() {
    call("english-plugin", &["Greeter.greet", "world"])
        .success()
        .stdout_eq("\"Hello, world!\"\n")
        .stderr_eq("");
}

#[test]
fn json_arguments_and_results_follow_serde() {
    call("english-plugin", &["Greeter.greet", "\"world\""])
        .success()
        .stdout_eq("\"Hello, world!\"\n");
    call("zoo-plugin", &["Zoo.grow", r#"{"Rect": [2.0, 3.0]}"#, "2"])
        .success()
        .stdout_eq("{\"Rect\":[4.0,6.0]}\n");
    // Struct fields in declaration order.
    call("zoo-plugin", &["Zoo.crowd", "1"]).success().stdout_eq(
        "[{\"name\":\"visitor 0\",\"tags\":[\"crowd\",\"#0\"],\"age\":null,\"home\":\"Empty\"}]\n",
    );
}

#[test]
fn refusals_are_one_line_and_exit_one() {
    let path = plugins().path("english-plugin").display().to_string();
    call("english-plugin", &["Greeter.greet"])
        .code(1)
        .stdout_eq("")
        .stderr_eq(format!(
            "error: {path}: Greeter::greet takes 1 argument(s) (target), 0 given\n"
        ));
    call("english-plugin", &["greet", "world"])
        .code(1)
        .stderr_eq("error: `greet`: name the method as `Trait.method`, e.g. `Greeter.greet`\n");
    call("zoo-plugin", &["Zoo.area", "Rect"]).code(1).stderr_eq(format!(
        "error: {}: Zoo::area: argument 1 (`shape`): not JSON (expected value at line 1 column 1): Rect\n",
        plugins().path("zoo-plugin").display()
    ));
}
