//! Tuples, which cross as `#[repr(C)]` structs of their elements.

use super::{Invalid, Lift, Lower, PluginData};
use crate::layout::TypeLayout;

macro_rules! tuples {
    ($($name:ident ($($t:ident $i:tt),+);)*) => {$(
        #[doc = concat!("How a tuple of ", stringify!($($t),+), " crosses.")]
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name<$($t),+>($(pub $t),+);

        // SAFETY: each element as itself, in a `#[repr(C)]` struct.
        unsafe impl<$($t: PluginData),+> PluginData for ($($t,)+) {
            type Abi = $name<$($t::Abi),+>;
            const LAYOUT: &'static TypeLayout =
                &TypeLayout::framework::<Self::Abi>(stringify!($name), &[$($t::LAYOUT),+]);
            const NATIVE: &'static TypeLayout =
                &TypeLayout::native::<Self>(stringify!($name), &[], &[$($t::NATIVE),+], &[]);

            #[inline(always)]
            fn lower(self, to: &Lower<'_>) -> Self::Abi {
                $name($(self.$i.lower(to)),+)
            }

            #[inline(always)]
            #[allow(non_snake_case)]
            unsafe fn lift(abi: Self::Abi, cx: &Lift<'_>) -> Result<Self, Invalid> {
                let $name($($t),+) = abi;
                // SAFETY: the elements of the other side's tuple.
                Ok(($(unsafe { $t::lift($t, cx) }?,)+))
            }
        }
    )*};
}

tuples! {
    Tuple1(A 0);
    Tuple2(A 0, B 1);
    Tuple3(A 0, B 1, C 2);
    Tuple4(A 0, B 1, C 2, D 3);
    Tuple5(A 0, B 1, C 2, D 3, E 4);
    Tuple6(A 0, B 1, C 2, D 3, E 4, F 5);
    Tuple7(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    Tuple8(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    Tuple9(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
    Tuple10(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
    Tuple11(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
    Tuple12(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
}
