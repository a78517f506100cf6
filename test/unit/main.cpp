// The entry point shared by every unit-test executable.
#define BOOST_TEST_MODULE audex
#include <boost/test/unit_test.hpp>
