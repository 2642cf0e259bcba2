//! The `#[repr(C)]` types values cross the boundary in.
//!
//! ```
//! use plugin_interface::repr::{ROption, RStr, RString, RVec};
//!
//! let name = RStr::new("Ada");
//! assert_eq!(name.as_str(), "Ada");
//!
//! // Owned buffers live in the host's memory, whichever side made them.
//! let text = RString::from(String::from("hello"));
//! assert_eq!(text.as_bytes(), b"hello");
//! let numbers = RVec::from(vec![1u64, 2, 3]);
//! assert_eq!(numbers.into_vec(), [1, 2, 3]);
//!
//! let maybe = ROption::some(7u32);
//! assert_eq!(maybe.into_option(), Ok(Some(7)));
//! ```
//!
//! Borrowed ones ([`RStr`], [`RSlice`]) are a pointer and a length. Owned
//! ones ([`RString`], [`RVec`], [`RBox`]) hold memory of the host's global
//! allocator, wherever they are made: a library that allocates through the
//! host's allocator (the default) hands its buffers over as they are, one
//! that keeps its own copies them into the host's memory through the table
//! the host installed, so every owned buffer can be adopted by the host and
//! freed by any side. [`ROption`] and [`RResult`] carry their tag as a
//! byte that the receiving side checks.

mod borrowed;
mod owned;
mod tagged;

pub use borrowed::{RSlice, RStr};
pub use owned::{RBox, RString, RVec};
pub use tagged::{ROption, RResult};
