use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Fetcher {
    async fn fetch(&self, url: &str) -> String;
}

fn main() {}
