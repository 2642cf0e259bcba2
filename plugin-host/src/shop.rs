//! The shop example, run by `plugin-host` without arguments after the
//! greeters: plain Rust structs and enums come back from a plugin, the
//! host lends its ledger and a closure to calls, and a refused order comes
//! back as the interface's own error enum.

use std::path::Path;
use std::sync::Mutex;

use plugin_interface::load_plugins;
use shop_interface::{Item, Ledger, Shop, Stock};

use crate::describe::{self, Status};

/// The host's books: what the shops sold, and the host's discounts.
#[derive(Debug, Default)]
struct Books {
    lines: Mutex<Vec<String>>,
}

impl Ledger for Books {
    fn record(&self, line: String) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }

    fn discount(&self, item: &str) -> Option<u32> {
        (item == "tea").then_some(10)
    }
}

impl Books {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// `3.50` for 350 cents.
fn price(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn describe_item(item: &Item) -> String {
    let stock = match &item.stock {
        Stock::InStock(count) => format!("{count} in stock"),
        Stock::Backorder { days } => format!("back in {days} days"),
        Stock::Discontinued => "discontinued".to_owned(),
    };
    format!("{} {} ({stock})", item.name, price(item.price_cents))
}

/// Visits every `Shop` plugin of `dir`: lists its catalogue, searches it
/// with a closure, and places two orders with the host's books lent.
pub fn visit(dir: &Path, status: &mut Status) {
    let report = match load_plugins::<dyn Shop>(dir) {
        Ok(report) => report,
        Err(error) => return status.fail(error),
    };
    for shop in &report {
        let name = shop.name();
        let info = shop.info();
        let file = describe::file_name(info.library());
        let catalogue: Vec<String> = shop.catalogue().iter().map(describe_item).collect();
        println!("{name} ({file}): {}", catalogue.join(", "));
        let drinks = shop.search(&mut |item| item.tags.iter().any(|tag| tag == "drink"));
        let drinks: Vec<&str> = drinks.iter().map(|item| item.name.as_str()).collect();
        println!("{name}: drinks: {}", drinks.join(", "));
        let books = Books::default();
        for (item, quantity) in [("tea", 2), ("scones", 5)] {
            match shop.try_order(item, quantity, &books) {
                Ok(Ok(receipt)) => println!(
                    "{name}: {quantity} x {item}: {}; the host's ledger: {}",
                    price(receipt.total_cents),
                    books.take().join("; ")
                ),
                Ok(Err(refused)) => println!("{name}: {quantity} x {item}: refused: {refused}"),
                Err(error) => status.fail(error),
            }
        }
    }
}
