//! Memory per connection is bounded and small, whatever the peer sends:
//! the whole state is inline, with no heap.

#[test]
fn connection_fits_in_536_bytes() {
    let size = core::mem::size_of::<wscore::Connection>();
    println!("size_of::<Connection>() = {size}");
    assert!(size <= 536, "Connection grew to {size} bytes");
}
