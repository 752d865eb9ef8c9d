#pragma once
// How sources feed a compiled route graph.

#include <cstddef>
#include <cstdint>

#include "pipeline/message.h"

namespace mqb::pipeline {

/// Entry point of one route graph, handed to the route's sources. Thread-safe: may be called from
/// a subscriber's I/O thread, a spool reader, a synthetic generator thread, or a test.
class Ingress {
 public:
  virtual ~Ingress() = default;
  /// Number of branches (shared-subscription clients); 1 for an ordinary route.
  virtual std::size_t branches() const noexcept = 0;
  /// Puts messages on `branch`, stamping Message::seq/branch. Never blocks. Returns false, leaving
  /// `batch` untouched, when the route's in-flight limit would be exceeded.
  virtual bool tryPush(std::size_t branch, Batch& batch) noexcept = 0;
  /// Messages admitted but not yet released by the sinks.
  virtual std::size_t inflight() const noexcept = 0;
  virtual std::size_t capacity() const noexcept = 0;
};

}  // namespace mqb::pipeline
