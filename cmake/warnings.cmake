# Shared warning flags for every mqbridge target (never for third-party code).
add_library(mqb_warnings INTERFACE)
target_compile_options(mqb_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wcast-qual
  -Wformat=2 -Wimplicit-fallthrough)
if(MQB_STRICT)
  target_compile_options(mqb_warnings INTERFACE -Werror)
endif()
