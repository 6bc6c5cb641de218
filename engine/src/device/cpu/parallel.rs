//! The CPU device's loops and matrix products on every core natively, through one pool of worker threads
//! (`rayon-core`: handing a part to a parked worker costs microseconds, starting a thread tens of them); in the
//! browser, where WebAssembly runs on the page's thread, one part after another.

use super::vector::wide;
use std::mem::MaybeUninit;

/// Below this many elements a loop runs on the calling thread: starting a thread costs more than it saves.
const MIN_PER_THREAD: usize = 32 * 1024;

/// The cores this process may run on (1 in the browser).
pub fn cores() -> usize {
    #[cfg(target_arch = "wasm32")]
    return 1;
    #[cfg(not(target_arch = "wasm32"))]
    {
        static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// How many threads a loop over `len` elements uses.
fn threads_for(len: usize) -> usize {
    (len / MIN_PER_THREAD).clamp(1, cores())
}

/// Splits `N` equally long output slices into one contiguous chunk per thread and calls `work(start, chunks)` on
/// each, where `start` is the chunks' first index: in parallel natively. Each element is written by exactly one
/// call, so the result does not depend on the number of threads as long as `work` computes element `start + i`
/// from its index alone.
pub fn for_chunks<T: Send, const N: usize>(outputs: [&mut [T]; N], work: impl Fn(usize, [&mut [T]; N]) + Sync) {
    for_blocks(outputs, 1, work);
}

/// A new vector of `len` values, written chunk by chunk on the pool by `write(start, chunk)`, each chunk whole
/// blocks of `block` values. Not zeroed first: for the large outputs of element-wise ops, zeroing cost about as
/// much as computing them.
///
/// # Safety
/// `write` initialises every value of each chunk it is given.
unsafe fn collect(len: usize, block: usize, write: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    for_blocks([&mut out.spare_capacity_mut()[..len]], block, move |start, [chunk]| write(start, chunk));
    // SAFETY: the chunks cover all `len` values, and the caller's `write` initialised each.
    unsafe { out.set_len(len) };
    out
}

/// `f(a[i], b[i])` for every index, into a new vector: an element-wise op of two inputs, in chunks on the pool.
pub fn map2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "element-wise inputs must be equally long");
    let write = move |start: usize, out: &mut [MaybeUninit<f32>]| {
        for ((out, &x), &y) in out.iter_mut().zip(&a[start..]).zip(&b[start..]) {
            out.write(f(x, y));
        }
    };
    // SAFETY: a and b are as long as the output, so each chunk's zip runs to the chunk's end.
    unsafe { collect(a.len(), 1, write) }
}

/// `f(i)` for every index `i < len`, into a new vector, in chunks on the pool.
pub fn from_fn(len: usize, f: impl Fn(usize) -> f32 + Sync) -> Vec<f32> {
    let write = move |start: usize, out: &mut [MaybeUninit<f32>]| {
        for (i, out) in out.iter_mut().enumerate() {
            out.write(f(start + i));
        }
    };
    // SAFETY: the loop visits every value of the chunk.
    unsafe { collect(len, 1, write) }
}

/// `f(i mod row, a[i], b[i])` for every index, into a new vector: [`map2`] for inputs made of rows of `row` values
/// (the samples of a batch), where `f` also reads a constant per position in the row.
pub fn map2_rows(a: &[f32], b: &[f32], row: usize, f: impl Fn(usize, f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "element-wise inputs must be equally long");
    assert!(row > 0 && a.len().is_multiple_of(row), "the inputs must hold whole rows");
    let write = move |start: usize, out: &mut [MaybeUninit<f32>]| {
        let rows = out.chunks_exact_mut(row).zip(a[start..].chunks_exact(row)).zip(b[start..].chunks_exact(row));
        for ((out, a), b) in rows {
            for (i, ((out, &x), &y)) in out.iter_mut().zip(a).zip(b).enumerate() {
                out.write(f(i, x, y));
            }
        }
    };
    // SAFETY: chunks hold whole rows (of a and b too, which are as long as the output), so the loops write every
    // value of each chunk.
    unsafe { collect(a.len(), row, write) }
}

/// `f(a[i])` for every index, into a new vector ([`map2`] of one input).
pub fn map(a: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    map2(a, a, |x, _| f(x))
}

/// [`for_chunks`] for outputs made of blocks of `block` values (an image's planes, a matrix's rows): each chunk
/// holds whole blocks, so `start` is a multiple of `block`.
///
/// Make `work` a `move` closure: what it captures by reference (a local slice, a constant) is read through a
/// pointer the compiler cannot tell apart from the outputs, so it is reloaded after every store and the loop
/// does not vectorise (Adam's update ran 4 times slower so).
pub fn for_blocks<T: Send, const N: usize>(outputs: [&mut [T]; N], block: usize, work: impl Fn(usize, [&mut [T]; N]) + Sync) {
    for_blocks_weighted(outputs, block, 1, work);
}

/// [`for_blocks`] for loops that read `weight` inputs for each value they write (a sum over a batch's samples
/// per value): the number of threads follows the work, not the outputs' length.
pub fn for_blocks_weighted<T: Send, const N: usize>(outputs: [&mut [T]; N], block: usize, weight: usize, work: impl Fn(usize, [&mut [T]; N]) + Sync) {
    let len = outputs.first().map_or(0, |o| o.len());
    assert!(outputs.iter().all(|o| o.len() == len), "the outputs must be equally long");
    assert!(block > 0 && len.is_multiple_of(block), "the outputs must hold whole blocks");
    let blocks = len / block;
    let threads = threads_for(len.saturating_mul(weight)).min(blocks);
    if threads <= 1 {
        wide(|| work(0, outputs));
        return;
    }
    let chunk = blocks.div_ceil(threads) * block;
    let mut rest = outputs;
    let mut parts = Vec::with_capacity(threads);
    let mut start = 0;
    while start < len {
        let take = chunk.min(len - start);
        let head = rest.each_mut().map(|r| {
            let (head, tail) = std::mem::take(r).split_at_mut(take);
            *r = tail;
            head
        });
        parts.push((start, head));
        start += take;
    }
    for_each(parts, |(start, head)| wide(|| work(start, head)));
}

/// Calls `work` on every item: natively the calling thread takes the first and the pool's threads the others, in
/// the browser one after another.
pub fn for_each<T: Send>(items: Vec<T>, work: impl Fn(T) + Sync) {
    #[cfg(not(target_arch = "wasm32"))]
    if items.len() > 1 {
        let work = &work;
        pool().in_place_scope(|scope| {
            let mut items = items.into_iter();
            let first = items.next();
            for item in items {
                scope.spawn(move |_| work(item));
            }
            first.into_iter().for_each(work);
        });
        return;
    }
    items.into_iter().for_each(work);
}

/// The worker threads: one fewer than the cores, as the calling thread works too. (More threads than cores would
/// leave idle workers spinning on the cores the caller's serial work needs.)
#[cfg(not(target_arch = "wasm32"))]
fn pool() -> &'static rayon_core::ThreadPool {
    static POOL: std::sync::OnceLock<rayon_core::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(cores().saturating_sub(1).max(1))
            .thread_name(|i| format!("engine-cpu-{i}"))
            .build()
            .expect("the CPU device could not start its worker threads")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_is_visited_once_with_its_own_position() {
        let n = 3 * MIN_PER_THREAD + 5;
        let (mut a, mut b, mut c) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for_chunks([&mut a, &mut b, &mut c], |start, [a, b, c]| {
            for i in 0..a.len() {
                a[i] += (start + i) as f32;
                b[i] += 1.0;
                c[i] = a[i] * 2.0;
            }
        });
        assert!(a.iter().enumerate().all(|(i, &v)| v == i as f32));
        assert!(b.iter().all(|&v| v == 1.0));
        assert!(c.iter().enumerate().all(|(i, &v)| v == 2.0 * i as f32));
    }

    #[test]
    fn new_vectors_hold_every_value_however_they_are_split() {
        for n in [0, 7, 3 * MIN_PER_THREAD + 5] {
            let from_index = from_fn(n, |i| i as f32 * 0.5);
            assert_eq!(from_index, (0..n).map(|i| i as f32 * 0.5).collect::<Vec<_>>());
            let sums = map2(&from_index, &from_index, |x, y| x + y + 1.0);
            assert_eq!(sums, (0..n).map(|i| i as f32 + 1.0).collect::<Vec<_>>());
        }
    }

    #[test]
    fn rows_see_their_position_and_weighted_loops_cover_every_value() {
        // Rows of 1000 values, enough of them to share out, with a ragged last chunk.
        let row = 1000;
        let n = (3 * MIN_PER_THREAD / row + 5) * row;
        let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let out = map2_rows(&a, &a, row, |i, x, y| x + y + (i * 10_000) as f32);
        assert!(out.iter().enumerate().all(|(j, &v)| v == 2.0 * j as f32 + ((j % row) * 10_000) as f32));
        // A short output with much work per value: still every value once.
        let mut short = vec![0.0; 100];
        for_blocks_weighted([&mut short], 1, MIN_PER_THREAD, |start, [chunk]| {
            chunk.iter_mut().enumerate().for_each(|(i, v)| *v += (start + i) as f32);
        });
        assert!(short.iter().enumerate().all(|(i, &v)| v == i as f32));
    }

    #[test]
    fn blocks_are_never_split_between_threads() {
        let block = 3 * MIN_PER_THREAD / 4 + 1;
        let mut out = vec![0.0; 5 * block];
        for_blocks([&mut out], block, |start, [chunk]| {
            assert!(start.is_multiple_of(block) && chunk.len().is_multiple_of(block), "whole blocks only");
            for (i, v) in chunk.iter_mut().enumerate() {
                *v = ((start + i) / block) as f32;
            }
        });
        assert!(out.iter().enumerate().all(|(i, &v)| v == (i / block) as f32));
    }
}
