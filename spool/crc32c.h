#pragma once
// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected = 0x82F63B78), the checksum of iSCSI, ext4
// and most log formats. Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
// run time), a slicing-by-8 table otherwise. No dependency.

#include <cstddef>
#include <cstdint>

namespace mqb::spool {

/// Extends `crc` (0 for a fresh checksum) with `n` bytes at `data`. crc32c("123456789") ==
/// 0xE3069283. Thread-safe, never fails.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) noexcept;

/// The portable implementation, exposed so tests can compare it with the hardware one.
std::uint32_t crc32cPortable(std::uint32_t crc, const void* data, std::size_t n) noexcept;

}  // namespace mqb::spool
