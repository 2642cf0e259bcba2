use greeter_interface::Greeter;
use plugin_interface::{plugin_aggregates, plugin_impl};

#[plugin_aggregates(Greeter)]
pub struct Library;

mod formal {
    use super::*;

    #[derive(Default)]
    pub struct English;

    #[plugin_impl(Greeter)]
    impl Greeter for English {
        fn name(&self) -> String {
            "formal".into()
        }

        fn greet(&self, target: &str) -> String {
            format!("Good day, {target}.")
        }
    }
}

mod casual {
    use super::*;

    #[derive(Default)]
    pub struct English;

    #[plugin_impl(Greeter)]
    impl Greeter for English {
        fn name(&self) -> String {
            "casual".into()
        }

        fn greet(&self, target: &str) -> String {
            format!("Hi, {target}!")
        }
    }
}

fn main() {}
