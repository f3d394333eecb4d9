//! Every kernel this CPU can run, and the dispatched functions, against the
//! one-byte loop: every length up to 300 and some large ones, every start
//! offset modulo 64 (so every alignment up to the widest vector), every
//! phase, in place and fused with a copy.

use super::kernels::{available, portable, selected, Kernel};
use super::*;
use proptest::prelude::*;
use std::vec::Vec;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// What `copy_and_mask` must leave alone around its output.
const UNTOUCHED: u8 = 0xAA;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

/// A destination offset for a copy from `offset`, so that the source and
/// destination are misaligned against each other in many ways.
fn dst_offset(offset: usize) -> usize {
    (offset * 13 + 5) % 64
}

/// Mask `data[offset..offset + len]` with `kernel` in place and as a copy,
/// and compare with `expected` (that piece masked by the reference) and the
/// returned phase with `next`. Nothing outside the piece may change.
fn check(
    kernel: Kernel,
    data: &[u8],
    offset: usize,
    len: usize,
    phase: usize,
    expected: &[u8],
    next: usize,
) {
    let what = || std::format!("{} len {len} offset {offset} phase {phase}", kernel.name());
    let mut buf = data.to_vec();
    assert_eq!(kernel.apply_mask(&mut buf[offset..offset + len], KEY, phase), next, "{}", what());
    assert!(buf[offset..offset + len] == *expected, "apply_mask: {}", what());
    assert!(buf[..offset] == data[..offset], "apply_mask wrote before the piece: {}", what());
    assert!(buf[offset + len..] == data[offset + len..], "apply_mask wrote past: {}", what());

    let at = dst_offset(offset);
    let mut out = std::vec![UNTOUCHED; at + len + 64];
    let src = &data[offset..offset + len];
    assert_eq!(kernel.copy_and_mask(&mut out[at..], src, KEY, phase), next, "{}", what());
    assert!(out[at..at + len] == *expected, "copy_and_mask: {}", what());
    assert!(out[..at].iter().all(|&b| b == UNTOUCHED), "copy_and_mask wrote before: {}", what());
    let past = out[at + len..].iter().all(|&b| b == UNTOUCHED);
    assert!(past, "copy_and_mask wrote past src.len(): {}", what());
}

#[test]
fn rfc_hello_example() {
    for kernel in available() {
        let mut payload = *b"Hello";
        assert_eq!(kernel.apply_mask(&mut payload, KEY, 0), 1);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58], "{}", kernel.name());
    }
    let mut payload = *b"Hello";
    assert_eq!(apply_mask(&mut payload, KEY, 0), 1);
    assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
}

#[test]
fn the_selected_kernel_is_the_widest_available() {
    let all: Vec<Kernel> = available().collect();
    std::eprintln!(
        "mask kernels on this CPU: {:?}",
        all.iter().map(|k| k.name()).collect::<Vec<_>>()
    );
    assert_eq!(all[0], portable());
    assert_eq!(all.last(), Some(&selected()));
    if cfg!(miri) {
        assert_eq!(selected(), portable(), "Miri checks the portable kernel");
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2", not(miri)))]
    assert!(all.iter().any(|k| k.name() == "sse2"), "SSE2 is the x86-64 baseline");
    #[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
    if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw") {
        assert_eq!(selected().name(), "avx512");
    } else if std::is_x86_feature_detected!("avx2") {
        assert_eq!(selected().name(), "avx2");
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon", not(miri)))]
    assert_eq!(selected().name(), "neon");
}

#[test]
fn every_kernel_matches_reference_for_every_length_offset_and_phase() {
    // Miri checks the logic on a smaller sweep (short pieces, and the
    // lengths around one and two bodies of the portable kernel); natively,
    // all of it.
    let lens: Vec<usize> = if cfg!(miri) {
        (0..=40).chain(62..=67).chain(94..=98).chain(126..=130).collect()
    } else {
        (0..=300).collect()
    };
    let offsets = if cfg!(miri) { 4 } else { 64 };
    let data = pattern(lens[lens.len() - 1] + offsets);
    for kernel in available() {
        for &len in &lens {
            for offset in 0..offsets {
                for phase in 0..4 {
                    let mut expected = data[offset..offset + len].to_vec();
                    let next = reference::apply_mask(&mut expected, KEY, phase);
                    check(kernel, &data, offset, len, phase, &expected, next);
                }
            }
        }
    }
}

#[test]
fn every_kernel_matches_reference_on_large_buffers() {
    let (lens, offsets): (&[usize], &[usize]) = if cfg!(miri) {
        (&[4096 + 13], &[0, 1, 31])
    } else {
        (&[4096 + 13, (1 << 20) + 3], &[0; 0])
    };
    let all_offsets: Vec<usize> = (0..64).collect();
    let offsets = if offsets.is_empty() { &all_offsets[..] } else { offsets };
    for &len in lens {
        let data = pattern(len + 64);
        // The whole buffer masked from each phase: the piece at `offset`
        // with phase `phase` is the slice of the one whose phase at 0 was
        // `phase - offset` (mod 4).
        let whole: Vec<Vec<u8>> = (0..4)
            .map(|phase| {
                let mut masked = data.clone();
                reference::apply_mask(&mut masked, KEY, phase);
                masked
            })
            .collect();
        for kernel in available() {
            for &offset in offsets {
                for phase in 0..4 {
                    let from = &whole[(phase + 64 - offset) % 4];
                    let expected = &from[offset..offset + len];
                    check(kernel, &data, offset, len, phase, expected, (phase + len) % 4);
                }
            }
        }
    }
}

#[test]
fn phase_is_taken_modulo_4_even_near_usize_max() {
    for kernel in available() {
        for phase in [usize::MAX - 2, usize::MAX - 1, usize::MAX] {
            let mut fast = pattern(37);
            let mut slow = fast.clone();
            let next = kernel.apply_mask(&mut fast, KEY, phase);
            assert_eq!(next, reference::apply_mask(&mut slow, KEY, phase));
            assert_eq!(fast, slow, "{}", kernel.name());
        }
    }
}

#[test]
#[should_panic]
fn copy_and_mask_panics_if_dst_is_shorter() {
    copy_and_mask(&mut [0; 40], &[0; 41], KEY, 0);
}

#[test]
#[should_panic]
fn portable_copy_and_mask_panics_if_dst_is_shorter() {
    portable().copy_and_mask(&mut [0; 40], &[0; 41], KEY, 0);
}

proptest! {
    #[test]
    fn dispatched_functions_match_reference(
        data in proptest::collection::vec(any::<u8>(), 0..if cfg!(miri) { 500 } else { 3000 }),
        key in any::<[u8; 4]>(),
        phase in any::<usize>(),
        offset in 0usize..64,
        at in 0usize..64,
    ) {
        let mut expected = data.clone();
        let next = reference::apply_mask(&mut expected, key, phase);

        let mut buf = std::vec![0u8; offset + data.len()];
        buf[offset..].copy_from_slice(&data);
        prop_assert_eq!(apply_mask(&mut buf[offset..], key, phase), next);
        prop_assert_eq!(&buf[offset..], &expected[..]);

        let mut out = std::vec![UNTOUCHED; at + data.len() + 8];
        prop_assert_eq!(copy_and_mask(&mut out[at..], &data, key, phase), next);
        prop_assert_eq!(&out[at..at + data.len()], &expected[..]);
        prop_assert!(out[..at].iter().chain(&out[at + data.len()..]).all(|&b| b == UNTOUCHED));
    }

    #[test]
    fn every_kernel_matches_reference_on_random_input(
        data in proptest::collection::vec(any::<u8>(), 0..if cfg!(miri) { 300 } else { 1200 }),
        key in any::<[u8; 4]>(),
        phase in any::<usize>(),
        offset in 0usize..64,
    ) {
        let mut expected = data.clone();
        let next = reference::apply_mask(&mut expected, key, phase);
        for kernel in available() {
            let mut buf = std::vec![0u8; offset + data.len()];
            buf[offset..].copy_from_slice(&data);
            prop_assert_eq!(kernel.apply_mask(&mut buf[offset..], key, phase), next);
            prop_assert_eq!(&buf[offset..], &expected[..], "{}", kernel.name());
            let mut out = std::vec![UNTOUCHED; data.len() + 1];
            prop_assert_eq!(kernel.copy_and_mask(&mut out, &data, key, phase), next);
            prop_assert_eq!(&out[..data.len()], &expected[..], "{}", kernel.name());
            prop_assert_eq!(out[data.len()], UNTOUCHED);
        }
    }

    #[test]
    fn any_split_equals_whole(data in proptest::collection::vec(any::<u8>(), 0..2048),
                              key in any::<[u8; 4]>(),
                              cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = data.clone();
        let mut bounds: Vec<usize> =
            cuts.iter().map(|c| c % (data.len() + 1)).collect();
        bounds.push(0);
        bounds.push(data.len());
        bounds.sort_unstable();
        let mut phase = 0;
        for w in bounds.windows(2) {
            phase = apply_mask(&mut pieces[w[0]..w[1]], key, phase);
        }
        prop_assert_eq!(&pieces, &whole);
        apply_mask(&mut whole, key, 0);
        prop_assert_eq!(whole, data);
    }
}
