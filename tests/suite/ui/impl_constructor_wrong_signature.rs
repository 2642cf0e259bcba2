use greeter_interface::Greeter;
use plugin_interface::{plugin_aggregates, plugin_impl};

#[plugin_aggregates(Greeter)]
pub struct English {
    pub greeting: String,
}

impl English {
    fn new(greeting: String) -> Self {
        Self { greeting }
    }
}

#[plugin_impl(Greeter, constructor = English::new)]
impl Greeter for English {
    fn name(&self) -> String {
        "english".into()
    }

    fn greet(&self, target: &str) -> String {
        format!("{}, {target}!", self.greeting)
    }
}

fn main() {}
