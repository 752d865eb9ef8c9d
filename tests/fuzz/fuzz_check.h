#pragma once
// What every fuzz target asserts with: a failed property stops libFuzzer with a crash it records
// (the input is saved as an artifact), in every build type.

namespace mqb::fuzz {

inline void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace mqb::fuzz
