# Run after reskit_tests is built: lists its tests and writes OUTPUT, a CTest
# file with one test per GoogleTest suite ("Suite" runs --gtest_filter=Suite.*).
# One process per suite rather than per test: each start loads LibTorch
# (~0.5 s), which over 600 tests was a third of the suite's time.
#   cmake -DTEST_EXECUTABLE=... -DOUTPUT=... -DTUNING_CACHE=... -P group_tests.cmake
execute_process(COMMAND "${TEST_EXECUTABLE}" --gtest_list_tests
  OUTPUT_VARIABLE listing RESULT_VARIABLE result TIMEOUT 120)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${TEST_EXECUTABLE} --gtest_list_tests failed (${result}):\n${listing}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(suites)
foreach(line IN LISTS lines)
  # A suite line starts in column 0 and ends in '.'; test lines are indented.
  if(line MATCHES "^([^ #][^ ]*)\\.")
    list(APPEND suites "${CMAKE_MATCH_1}")
  endif()
endforeach()
list(REMOVE_DUPLICATES suites)
set(content "")
foreach(suite IN LISTS suites)
  string(APPEND content "add_test([=[${suite}]=] \"${TEST_EXECUTABLE}\" [=[--gtest_filter=${suite}.*]=])\n")
  string(APPEND content "set_tests_properties([=[${suite}]=] PROPERTIES FIXTURES_REQUIRED reference TIMEOUT 1800 "
                         "ENVIRONMENT [=[RESKIT_TUNING_CACHE=${TUNING_CACHE}]=])\n")
endforeach()
file(WRITE "${OUTPUT}" "${content}")
