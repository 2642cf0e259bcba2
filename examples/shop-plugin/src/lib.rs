//! A corner shop: its catalogue is plain Rust data, its stock changes as it
//! sells, and every sale is written in the ledger the host lends.

use std::sync::Mutex;

use plugin_interface::{plugin_aggregates, plugin_impl};
use shop_interface::{Item, Ledger, OrderError, Receipt, Shop, Stock};

/// A shop with a few items.
#[plugin_aggregates(Shop)]
#[derive(Debug)]
pub struct CornerShop {
    items: Mutex<Vec<Item>>,
}

impl CornerShop {
    fn open() -> Self {
        let item = |name: &str, price_cents, tags: &[&str], stock| Item {
            name: name.to_owned(),
            price_cents,
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            stock,
        };
        Self {
            items: Mutex::new(vec![
                item("tea", 350, &["drink", "hot"], Stock::InStock(12)),
                item(
                    "lemonade",
                    280,
                    &["drink", "cold"],
                    Stock::Backorder { days: 3 },
                ),
                item("scones", 420, &["food", "baked"], Stock::InStock(4)),
                item("candles", 990, &["home"], Stock::Discontinued),
            ]),
        }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, Vec<Item>> {
        self.items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[plugin_impl(Shop, constructor = CornerShop::open)]
impl Shop for CornerShop {
    fn name(&self) -> String {
        "Corner shop".to_owned()
    }

    fn catalogue(&self) -> Vec<Item> {
        self.items().clone()
    }

    fn search(&self, keep: &mut dyn FnMut(Item) -> bool) -> Vec<Item> {
        self.items()
            .iter()
            .filter(|item| keep((*item).clone()))
            .cloned()
            .collect()
    }

    fn order(&self, name: &str, quantity: u32, ledger: &dyn Ledger) -> Result<Receipt, OrderError> {
        let mut items = self.items();
        let Some(item) = items.iter_mut().find(|item| item.name == name) else {
            return Err(OrderError::UnknownItem(name.to_owned()));
        };
        let available = match item.stock {
            Stock::InStock(count) => count,
            Stock::Backorder { .. } => 0,
            Stock::Discontinued => return Err(OrderError::Discontinued(item.name.clone())),
        };
        if available < quantity {
            return Err(OrderError::OutOfStock {
                item: item.name.clone(),
                available,
            });
        }
        item.stock = Stock::InStock(available - quantity);
        let full = item.price_cents * u64::from(quantity);
        let discount = u64::from(ledger.discount(name).unwrap_or(0).min(100));
        let total_cents = full - full * discount / 100;
        ledger.record(format!("sold {quantity} x {name} for {total_cents} cents"));
        Ok(Receipt {
            item: item.name.clone(),
            quantity,
            total_cents,
        })
    }
}
