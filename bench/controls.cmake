# bench_controls: continuous and period control evaluation over generated events.
add_executable(bench_controls ${CMAKE_CURRENT_SOURCE_DIR}/bench_controls.c)
target_link_libraries(bench_controls PRIVATE auditd_controls auditd_policies auditd_core
  PkgConfig::CJSON)
target_compile_definitions(bench_controls PRIVATE AUDITD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
