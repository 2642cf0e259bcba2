//! `Option` and `Result` as C sees them: a tag byte and the value.
//!
//! The tag comes from the other side, so it is checked before the value
//! is read: a value of a Rust enum with a wrong tag would be undefined
//! behaviour, a wrong tag here is a refusal.

use core::fmt;
use core::mem::{ManuallyDrop, MaybeUninit};

use crate::carry::Invalid;

const NONE: u8 = 0;
const SOME: u8 = 1;

/// An `Option` as C sees it: a tag byte (0 none, 1 some) and the value.
#[repr(C)]
pub struct ROption<T> {
    tag: u8,
    value: MaybeUninit<T>,
}

impl<T> ROption<T> {
    /// No value.
    #[inline(always)]
    pub const fn none() -> Self {
        Self {
            tag: NONE,
            value: MaybeUninit::uninit(),
        }
    }

    /// `value`.
    #[inline(always)]
    pub const fn some(value: T) -> Self {
        Self {
            tag: SOME,
            value: MaybeUninit::new(value),
        }
    }

    /// The option, refused if the tag is neither none nor some.
    #[inline(always)]
    pub fn into_option(self) -> Result<Option<T>, Invalid> {
        let this = ManuallyDrop::new(self);
        match this.tag {
            NONE => Ok(None),
            // SAFETY: a some tag goes with an initialised value, read once.
            SOME => Ok(Some(unsafe { this.value.assume_init_read() })),
            tag => Err(Invalid::tag("Option", u32::from(tag), 2)),
        }
    }

    /// The value, if there is one; `None` for a wrong tag too.
    pub fn as_option(&self) -> Option<&T> {
        // SAFETY: a some tag goes with an initialised value.
        (self.tag == SOME).then(|| unsafe { self.value.assume_init_ref() })
    }
}

impl<T> From<Option<T>> for ROption<T> {
    #[inline(always)]
    fn from(value: Option<T>) -> Self {
        match value {
            Some(value) => Self::some(value),
            None => Self::none(),
        }
    }
}

impl<T> Drop for ROption<T> {
    fn drop(&mut self) {
        if self.tag == SOME {
            // SAFETY: a some tag goes with an initialised value, dropped
            // once.
            unsafe { self.value.assume_init_drop() };
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for ROption<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_option(), f)
    }
}

const OK: u8 = 0;
const ERR: u8 = 1;

/// The value of an [`RResult`]: which one the tag says.
#[repr(C)]
union Either<T, E> {
    ok: ManuallyDrop<T>,
    err: ManuallyDrop<E>,
}

/// A `Result` as C sees it: a tag byte (0 ok, 1 err) and the value.
#[repr(C)]
pub struct RResult<T, E> {
    tag: u8,
    value: Either<T, E>,
}

impl<T, E> RResult<T, E> {
    /// Success.
    #[inline(always)]
    pub const fn ok(value: T) -> Self {
        Self {
            tag: OK,
            value: Either {
                ok: ManuallyDrop::new(value),
            },
        }
    }

    /// Failure.
    #[inline(always)]
    pub const fn err(error: E) -> Self {
        Self {
            tag: ERR,
            value: Either {
                err: ManuallyDrop::new(error),
            },
        }
    }

    /// The result, refused if the tag is neither ok nor err.
    #[inline(always)]
    pub fn into_result(self) -> Result<Result<T, E>, Invalid> {
        let mut this = ManuallyDrop::new(self);
        match this.tag {
            // SAFETY: an ok tag goes with an initialised `ok`, taken once.
            OK => Ok(Ok(unsafe { ManuallyDrop::take(&mut this.value.ok) })),
            // SAFETY: an err tag goes with an initialised `err`, taken once.
            ERR => Ok(Err(unsafe { ManuallyDrop::take(&mut this.value.err) })),
            tag => Err(Invalid::tag("Result", u32::from(tag), 2)),
        }
    }

    /// The result, borrowed; `None` for a wrong tag.
    pub fn as_result(&self) -> Option<Result<&T, &E>> {
        match self.tag {
            // SAFETY: an ok tag goes with an initialised `ok`.
            OK => Some(Ok(unsafe { &*self.value.ok })),
            // SAFETY: an err tag goes with an initialised `err`.
            ERR => Some(Err(unsafe { &*self.value.err })),
            _ => None,
        }
    }
}

impl<T, E> From<Result<T, E>> for RResult<T, E> {
    #[inline(always)]
    fn from(value: Result<T, E>) -> Self {
        match value {
            Ok(value) => Self::ok(value),
            Err(error) => Self::err(error),
        }
    }
}

impl<T, E> Drop for RResult<T, E> {
    fn drop(&mut self) {
        match self.tag {
            // SAFETY: an ok tag goes with an initialised `ok`, dropped once.
            OK => unsafe { ManuallyDrop::drop(&mut self.value.ok) },
            // SAFETY: an err tag goes with an initialised `err`, dropped once.
            ERR => unsafe { ManuallyDrop::drop(&mut self.value.err) },
            _ => {}
        }
    }
}

impl<T: fmt::Debug, E: fmt::Debug> fmt::Debug for RResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_result(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_results_round_trip() {
        assert_eq!(
            ROption::some(String::from("x")).into_option(),
            Ok(Some("x".into()))
        );
        assert_eq!(ROption::<u8>::none().into_option(), Ok(None));
        assert_eq!(RResult::<u8, String>::ok(3).into_result(), Ok(Ok(3)));
        assert_eq!(
            RResult::<u8, String>::err("no".into()).into_result(),
            Ok(Err("no".into()))
        );
        drop(ROption::some(vec![1u8]));
        drop(RResult::<Vec<u8>, String>::err("dropped".into()));
    }

    #[test]
    fn a_wrong_tag_is_refused() {
        let mut option = ROption::some(5u32);
        option.tag = 7;
        assert!(option.into_option().is_err());
        let mut result = RResult::<u32, u64>::ok(5);
        result.tag = 2;
        assert!(result.into_result().is_err());
    }
}
