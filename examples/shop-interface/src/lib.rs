//! The Shop plugin interface: what an application's interface is made of.
//! Plain Rust structs and enums cross by deriving `PluginData`; the host
//! lends its `Ledger` to a call, and a closure to filter the catalogue.

use plugin_interface::{PluginData, plugin_trait};

/// Whether an item can be sold now.
#[derive(Debug, Clone, PartialEq, PluginData)]
pub enum Stock {
    /// This many on the shelf.
    InStock(u32),
    /// None now; more in this many days.
    Backorder {
        /// Days until more arrive.
        days: u32,
    },
    /// Never again.
    Discontinued,
}

/// One item of a shop's catalogue.
#[derive(Debug, Clone, PartialEq, PluginData)]
pub struct Item {
    /// What it is called, also its key in orders.
    pub name: String,
    /// Price of one, in cents.
    pub price_cents: u64,
    /// Words it is found by.
    pub tags: Vec<String>,
    /// Whether it can be sold.
    pub stock: Stock,
}

/// A completed order.
#[derive(Debug, Clone, PartialEq, PluginData)]
pub struct Receipt {
    /// The item sold.
    pub item: String,
    /// How many.
    pub quantity: u32,
    /// What was charged, in cents.
    pub total_cents: u64,
}

/// Why an order was refused.
#[derive(Debug, Clone, PartialEq, PluginData)]
pub enum OrderError {
    /// No item of that name.
    UnknownItem(String),
    /// Not enough on the shelf.
    OutOfStock {
        /// The item.
        item: String,
        /// How many there are.
        available: u32,
    },
    /// The item is not sold any more.
    Discontinued(String),
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::UnknownItem(item) => write!(f, "no item called {item}"),
            OrderError::OutOfStock { item, available } => {
                write!(f, "only {available} of {item} in stock")
            }
            OrderError::Discontinued(item) => write!(f, "{item} is discontinued"),
        }
    }
}

/// The host's books, lent to a shop for the length of an order.
#[plugin_trait]
pub trait Ledger: Send + Sync {
    /// Writes a line in the books.
    fn record(&self, line: String);
    /// A discount in percent the host grants on `item`, if any.
    fn discount(&self, item: &str) -> Option<u32>;
}

/// A shop, implemented by plugin libraries.
#[plugin_trait]
pub trait Shop: Send + Sync {
    /// The shop's name.
    fn name(&self) -> String;
    /// Every item, in catalogue order.
    fn catalogue(&self) -> Vec<Item>;
    /// The items `keep` accepts.
    fn search(&self, keep: &mut dyn FnMut(Item) -> bool) -> Vec<Item>;
    /// Sells `quantity` of `item`, writing the sale in the host's ledger.
    fn order(&self, item: &str, quantity: u32, ledger: &dyn Ledger) -> Result<Receipt, OrderError>;
}
