//! Working buffers kept from one op to the next: a convolution's unfolded columns, its product before the
//! transposition into `[N, C, H, W]`. Allocating them anew zeroes them every time (the allocator keeps freed
//! memory, so it cannot hand out fresh zero pages), and for the digits' small convolutions those zeroing passes
//! cost as much as some of the products. Each thread keeps its own, so ops on different threads never share one.

use std::cell::RefCell;

/// Buffers longer than this (4 Mi floats, 16 MiB) are freed after use rather than kept: a large evaluation batch
/// should not leave its working memory behind.
const KEEP_AT_MOST: usize = 4 << 20;

thread_local! {
    static FREE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// Calls `work` with `N` buffers of the given lengths. Their contents are whatever an earlier op left there
/// (zero for fresh memory): `work` must write every value before it reads it.
pub fn with_buffers<const N: usize, R>(lens: [usize; N], work: impl FnOnce([&mut [f32]; N]) -> R) -> R {
    let mut buffers: [Vec<f32>; N] = std::array::from_fn(|_| FREE.with_borrow_mut(|free| free.pop()).unwrap_or_default());
    for (buffer, &len) in buffers.iter_mut().zip(&lens) {
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
    }
    let mut views = buffers.iter_mut().zip(lens);
    let result = work(std::array::from_fn(|_| {
        let (buffer, len) = views.next().expect("one view per buffer");
        &mut buffer[..len]
    }));
    FREE.with_borrow_mut(|free| free.extend(buffers.into_iter().filter(|b| b.len() <= KEEP_AT_MOST)));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_without_a_new_allocation() {
        let kept = with_buffers([3, 5], |[a, b]| {
            assert_eq!((a.len(), b.len()), (3, 5));
            b.fill(2.0);
            b.as_ptr()
        });
        // The last buffer given back is the next one taken: the same memory, with the values its last user left.
        let (again, values) = with_buffers([4], |[c]| (c.as_ptr(), c.to_vec()));
        assert_eq!(again, kept);
        assert_eq!(values, [2.0; 4]);
        // While a buffer is out, a nested call gets another one.
        with_buffers([4], |[c]| with_buffers([4], |[d]| assert_ne!(c.as_ptr(), d.as_ptr())));
    }

    #[test]
    fn huge_buffers_are_freed_after_use() {
        with_buffers([KEEP_AT_MOST + 1, 1], |_| ());
        assert_eq!(FREE.with_borrow(|free| free.iter().map(Vec::len).collect::<Vec<_>>()), [1]);
    }
}
