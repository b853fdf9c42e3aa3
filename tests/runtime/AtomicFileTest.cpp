// writeFileAtomically on paths that are not regular files: a device is written in place (a
// rename over /dev/full or /dev/null would replace the device itself), and a full device is a
// failure, never a silent success.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>

#include "permjit/runtime/AtomicFile.h"

namespace permjit::runtime {
namespace {

TEST(AtomicFile, AFullDeviceIsAFailure) {
  struct stat before;
  if (::stat("/dev/full", &before) != 0) GTEST_SKIP() << "no /dev/full here";
  std::optional<AtomicWriteFailure> failure = writeFileAtomically("/dev/full", "kernel bytes");
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->what, "cannot write");
  EXPECT_EQ(failure->path, "/dev/full");
  EXPECT_EQ(failure->error, ENOSPC);
  struct stat after;
  ASSERT_EQ(::stat("/dev/full", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode));  // still the device
}

TEST(AtomicFile, ADeviceIsWrittenInPlaceNotReplaced) {
  struct stat st;
  if (::stat("/dev/null", &st) != 0) GTEST_SKIP() << "no /dev/null here";
  EXPECT_FALSE(writeFileAtomically("/dev/null", "bytes").has_value());
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

}  // namespace
}  // namespace permjit::runtime
