# Installation and the CMake package for out-of-tree stage plugins.
#
# `cmake --install <build> --prefix <p>` installs the mqbridge executable (app/), the public stage
# API headers under <p>/include/mqbridge/, and <p>/lib/cmake/mqbridge/mqbridgeConfig.cmake, so an
# external project does
#     find_package(mqbridge CONFIG REQUIRED)
#     mqbridge_add_stage_plugin(my_stage my_stage.cc)      # or: add_library(... MODULE ...) and
#                                                          #     link mqbridge::stage_api
# mqbridge::stage_api is an INTERFACE target: include directories and C++20. The stage API headers
# need neither yaml-cpp nor prometheus-cpp, and the target links no mqbridge code: a plugin
# resolves the stage API's symbols from the mqbridge executable that loads it (pipeline/plugin.h).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MQB_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/mqbridge)
set(MQB_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/mqbridge)

add_library(mqb_stage_api INTERFACE)
target_include_directories(mqb_stage_api INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:${MQB_INSTALL_INCLUDEDIR}>)
target_compile_features(mqb_stage_api INTERFACE cxx_std_20)
set_target_properties(mqb_stage_api PROPERTIES EXPORT_NAME stage_api)
add_library(mqbridge::stage_api ALIAS mqb_stage_api)

# The public headers: the stage API and exactly what it includes (tests/scripts/extending checks
# that they include nothing else).
foreach(_h pipeline/plugin.h pipeline/stage_factory.h pipeline/stage.h pipeline/message.h
           pipeline/clock.h config/params.h config/diagnostics.h metrics/reasons.h)
  get_filename_component(_dir ${_h} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${_h} DESTINATION ${MQB_INSTALL_INCLUDEDIR}/${_dir})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/mqtt/message.h DESTINATION ${MQB_INSTALL_INCLUDEDIR}/mqtt)

install(TARGETS mqb_stage_api EXPORT mqbridgeTargets)
install(EXPORT mqbridgeTargets NAMESPACE mqbridge:: DESTINATION ${MQB_INSTALL_CMAKEDIR})

file(STRINGS ${PROJECT_SOURCE_DIR}/pipeline/plugin.h _mqb_abi_line
     REGEX "^#define MQB_STAGE_PLUGIN_ABI_VERSION [0-9]+")
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" MQB_STAGE_PLUGIN_ABI_VERSION "${_mqb_abi_line}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mqbridgeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/generated/mqbridgeConfig.cmake INSTALL_DESTINATION ${MQB_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/generated/mqbridgeConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/generated/mqbridgeConfig.cmake
              ${PROJECT_BINARY_DIR}/generated/mqbridgeConfigVersion.cmake
        DESTINATION ${MQB_INSTALL_CMAKEDIR})
