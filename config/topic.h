#pragma once
// MQTT topic names and topic filters (MQTT 3.1.1 section 4.7, MQTT 5 section 4.7).
//
//   filterError("a/+/#") == ""            nameError("a/+") == "must not contain wildcards ..."
//   matches("sport/#", "sport") == true   matches("+/x", "$SYS/x") == false
//   sharedSubscription("g1", "a/#") == "$share/g1/a/#"
//
// Pure functions of their arguments: thread-safe, never throw (except std::bad_alloc).

#include <cstddef>
#include <string>
#include <string_view>

namespace mqb::config::topic {

/// Longest topic (name or filter) MQTT can carry: a two-byte length prefix.
inline constexpr std::size_t kMaxTopicBytes = 65535;

/// "" if `s` is well-formed UTF-8 without U+0000 and at most kMaxTopicBytes long; otherwise why
/// not. Common to names, filters and templates.
std::string encodingError(std::string_view s);

/// "" if `filter` is a valid topic filter: not empty, `#` only as the whole last level, `+` only
/// as a whole level, plus encodingError(). Otherwise a sentence saying what is wrong.
std::string filterError(std::string_view filter);

/// "" if `name` is a valid topic name (what a PUBLISH carries): not empty, no `+` or `#`,
/// plus encodingError().
std::string nameError(std::string_view name);

/// "" if `target` is a valid route target: a topic name, or (extension) a template
/// (topic_template.h, which parses it); otherwise what parseTemplate() says is wrong.
std::string targetError(std::string_view target);

/// True if `target` is a valid template with at least one `{...}` placeholder.
bool isTemplate(std::string_view target);

/// True if topic name `topic` matches topic filter `filter` (both assumed valid). `#` also
/// matches the parent level ("a/#" matches "a"); `+` matches exactly one, possibly empty, level.
/// A filter starting with a wildcard does not match a topic starting with `$` ("$SYS/...").
bool matches(std::string_view filter, std::string_view topic);

/// True if some topic name matches both filters (used for loop detection).
bool overlaps(std::string_view filterA, std::string_view filterB);

/// A filter that matches every topic a target can produce (Template::asFilter()): a level with a
/// placeholder becomes `+` per level it spans, `#` from a placeholder that runs to the last
/// level; literal braces stay. A target that does not parse is returned as is.
std::string templateAsFilter(std::string_view target);

/// "$share/<group>/<filter>" (MQTT 5 shared subscription). `group` must not contain / + #.
std::string sharedSubscription(std::string_view group, std::string_view filter);

/// "" if `group` is a valid share name: not empty, no `/`, `+` or `#`, plus encodingError().
std::string groupNameError(std::string_view group);

}  // namespace mqb::config::topic
