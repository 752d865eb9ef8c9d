# mqb_add_folder_library(NAME <lib> DIR <folder> [DEPS ...])
# Builds one static library from every .cc file below DIR (tests and benches live elsewhere),
# so that adding a component means adding its folder, not editing a list here.
function(mqb_add_folder_library)
  cmake_parse_arguments(A "" "NAME" "DEPS" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  if(NOT _srcs)  # header-only so far
    add_library(${A_NAME} INTERFACE)
    target_include_directories(${A_NAME} INTERFACE
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>)
    target_link_libraries(${A_NAME} INTERFACE ${A_DEPS})
    return()
  endif()
  add_library(${A_NAME} STATIC ${_srcs})
  target_include_directories(${A_NAME} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>)
  target_link_libraries(${A_NAME} PUBLIC ${A_DEPS} PRIVATE mqb_warnings)
  set_target_properties(${A_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
