//! Every mask kernel this CPU has (portable, SSE2, AVX2, AVX-512, NEON) and
//! the dispatched functions, against the one-byte loop, for any length, start
//! alignment, phase and key, in place and fused with a copy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::mask::{apply_mask, copy_and_mask, kernels, reference};

fuzz_target!(|input: (u8, u8, [u8; 4], &[u8])| {
    let (offset, phase, key, data) = input;
    let offset = usize::from(offset % 64);
    let phase = usize::from(phase);
    let mut buf = vec![0u8; offset + data.len()];
    buf[offset..].copy_from_slice(data);
    let mut expected = data.to_vec();
    let next = reference::apply_mask(&mut expected, key, phase);

    assert_eq!(apply_mask(&mut buf[offset..], key, phase), next);
    assert_eq!(&buf[offset..], &expected[..]);

    // Each kernel directly, not only the one dispatch picks.
    for kernel in kernels::available() {
        let mut buf = vec![0u8; offset + data.len()];
        buf[offset..].copy_from_slice(data);
        assert_eq!(kernel.apply_mask(&mut buf[offset..], key, phase), next);
        assert_eq!(&buf[offset..], &expected[..], "{}", kernel.name());
        let mut dst = vec![0u8; offset + data.len() + 1];
        assert_eq!(kernel.copy_and_mask(&mut dst[offset..], data, key, phase), next);
        assert_eq!(&dst[offset..offset + data.len()], &expected[..], "{} copy", kernel.name());
        assert_eq!(dst[offset + data.len()], 0, "{} wrote past the end", kernel.name());
    }

    let mut dst = vec![0u8; offset + data.len() + 1];
    assert_eq!(copy_and_mask(&mut dst[offset..], data, key, phase), next);
    assert_eq!(&dst[offset..offset + data.len()], &expected[..]);
    assert_eq!(dst[offset + data.len()], 0, "wrote past the end");
});
