//! A server-role connection past the handshake, fed arbitrary bytes from its
//! peer in arbitrary chunks. See `rfc6455_fuzz::recv` for the input format
//! and the invariants.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::Role;

fuzz_target!(|data: &[u8]| rfc6455_fuzz::recv::run(Role::Server, data));
