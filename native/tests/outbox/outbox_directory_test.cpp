// The outbox directory and the files in it (issue 8 item 4): symlinks are never followed, a
// directory another user owns or others may write is refused, and the directory is fsynced
// after files are created, renamed and deleted.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "outbox/outbox_log.hpp"
#include "tests/outbox/fault_injecting_file_system.hpp"

namespace rws {
namespace {

namespace stdfs = std::filesystem;

class OutboxDirectory : public ::testing::Test {
 protected:
  OutboxDirectory() {
    std::string pattern = (stdfs::temp_directory_path() / "rws-outbox-dir-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    root_ = pattern;
    dir_ = root_ + "/outbox";
  }
  ~OutboxDirectory() override {
    std::error_code ec;
    stdfs::remove_all(root_, ec);
  }

  std::unique_ptr<outbox_log> open(file_system& fs, std::error_code& ec,
                                   outbox_log_options options = {}) {
    outbox_recovery_report report;
    return outbox_log::open(fs, dir_, ec, report, options);
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  posix_file_system fs_;
  std::string root_;
  std::string dir_;
};

// Pins: a symlink planted under a segment's name was opened and truncated through (recovery
// saw the target's bytes as a torn tail). Now it is refused and the target left untouched.
TEST_F(OutboxDirectory, PlantedSegmentSymlinkIsNeitherFollowedNorTruncated) {
  const std::string target = root_ + "/precious.txt";
  { std::ofstream(target) << "not an outbox segment, must survive"; }
  stdfs::create_directories(dir_);
  stdfs::permissions(dir_, stdfs::perms::owner_all, stdfs::perm_options::replace);
  stdfs::create_symlink(target, dir_ + "/seg-0000000000000001.log");
  std::error_code ec;
  auto log = open(fs_, ec);
  EXPECT_FALSE(log);
  EXPECT_EQ(ec, std::errc::too_many_symbolic_link_levels) << ec.message();
  EXPECT_EQ(read(target), "not an outbox segment, must survive");
}

// Pins: the temporary file of write_file_atomic (the resume position) was opened with O_TRUNC
// through a planted symlink.
TEST_F(OutboxDirectory, PlantedTempSymlinkIsReplacedNotWrittenThrough) {
  std::error_code ec;
  auto log = open(fs_, ec);
  ASSERT_TRUE(log) << ec.message();
  const std::string target = root_ + "/precious.txt";
  { std::ofstream(target) << "keep"; }
  stdfs::create_symlink(target, dir_ + "/last-event-id.tmp");
  ASSERT_FALSE(write_file_atomic(fs_, log->directory_fd(), "last-event-id", "42"));
  EXPECT_EQ(read(target), "keep");
  EXPECT_EQ(read(dir_ + "/last-event-id"), "42");
  EXPECT_FALSE(stdfs::is_symlink(dir_ + "/last-event-id"));
}

TEST_F(OutboxDirectory, DirectoryThatIsASymlinkIsRefused) {
  const std::string real = root_ + "/real";
  stdfs::create_directory(real);
  stdfs::permissions(real, stdfs::perms::owner_all, stdfs::perm_options::replace);
  stdfs::create_directory_symlink(real, dir_);
  std::error_code ec;
  EXPECT_FALSE(open(fs_, ec));
  // O_DIRECTORY | O_NOFOLLOW on a symlink: Linux says ENOTDIR.
  EXPECT_TRUE(ec == std::errc::not_a_directory || ec == std::errc::too_many_symbolic_link_levels)
      << ec.message();
}

// Pins: an existing directory's mode was never checked.
TEST_F(OutboxDirectory, DirectoryOthersCanWriteIsRefused) {
  stdfs::create_directories(dir_);
  for (const auto mode : {stdfs::perms::all, stdfs::perms::owner_all | stdfs::perms::group_write}) {
    stdfs::permissions(dir_, mode, stdfs::perm_options::replace);
    std::error_code ec;
    EXPECT_FALSE(open(fs_, ec));
    EXPECT_EQ(ec, make_error_code(outbox_errc::directory_open_to_others));
  }
  // Readable by others is not a way to plant files: allowed (the files themselves are 0600).
  stdfs::permissions(dir_, stdfs::perms::owner_all | stdfs::perms::group_read | stdfs::perms::others_read |
                               stdfs::perms::group_exec | stdfs::perms::others_exec,
                     stdfs::perm_options::replace);
  std::error_code ec;
  EXPECT_TRUE(open(fs_, ec)) << ec.message();
}

// Pins: an existing directory's owner was never checked. Needs root to give it away.
TEST_F(OutboxDirectory, DirectoryOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a directory to another user";
  stdfs::create_directories(dir_);
  stdfs::permissions(dir_, stdfs::perms::owner_all, stdfs::perm_options::replace);
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  std::error_code ec;
  EXPECT_FALSE(open(fs_, ec));
  EXPECT_EQ(ec, make_error_code(outbox_errc::directory_not_owned));
}

// Pins: deleting a delivered segment did not fsync the directory, so after a power loss the
// deletion could be undone (harmless) — or, worse, a later creation lost while the deletion
// stayed. Every create and delete is followed by a directory fsync.
TEST_F(OutboxDirectory, DirectoryIsSyncedAfterEveryCreateAndDelete) {
  tests::fault_injecting_file_system counting(fs_);
  std::error_code ec;
  outbox_log_options options;
  options.segment_bytes = 300;
  auto log = open(counting, ec, options);
  ASSERT_TRUE(log) << ec.message();
  for (int i = 0; i < 40; ++i) {
    std::vector<outbox_entry> batch{{0, "k" + std::to_string(i), std::string(60, 'x'), false}};
    ASSERT_FALSE(log->append(batch));
    ASSERT_FALSE(log->sync());
    ASSERT_FALSE(log->mark_delivered(batch[0].seq));
  }
  int segments_now = 0;
  for (const auto& e : stdfs::directory_iterator(dir_)) {
    segments_now += e.path().filename().string().starts_with("seg-") ? 1 : 0;
  }
  const int removed = counting.removes();
  ASSERT_GT(removed, 5);  // segments were created and deleted
  const int created = removed + segments_now;
  EXPECT_GE(counting.directory_syncs(), created + removed);
}

// fsync 'none' means none: not for the log, not for the directory.
TEST_F(OutboxDirectory, FsyncNoneSyncsNothing) {
  tests::fault_injecting_file_system counting(fs_);
  std::error_code ec;
  outbox_log_options options;
  options.fsync = fsync_policy::none;
  options.segment_bytes = 300;
  auto log = open(counting, ec, options);
  ASSERT_TRUE(log) << ec.message();
  for (int i = 0; i < 40; ++i) {
    std::vector<outbox_entry> batch{{0, "k", std::string(60, 'x'), false}};
    ASSERT_FALSE(log->append(batch));
    ASSERT_FALSE(log->sync());
    ASSERT_FALSE(log->mark_delivered(batch[0].seq));
  }
  ASSERT_FALSE(write_file_atomic(counting, log->directory_fd(), "last-event-id", "1", false));
  EXPECT_GT(counting.removes(), 5);
  EXPECT_EQ(counting.syncs(), 0);
  EXPECT_EQ(counting.directory_syncs(), 0);
}

}  // namespace
}  // namespace rws
