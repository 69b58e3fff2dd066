// The signing key files and the checkpoints file: round trip, torn tail,
// corruption named by offset, damaged key files, the public key text form.
#include "events/signed_checkpoint.h"

#include <gtest/gtest.h>

#include "testing/fault_env.h"

namespace accountable {
namespace {

namespace signed_fmt = signed_checkpoint_format;

class SignedCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.create_dir("/data").is_ok()); }

  SignedCheckpoint make(uint64_t position, uint8_t fill) {
    SignedCheckpoint c;
    c.position = position;
    c.head_hash.fill(fill);
    c.recorded_at_micros = 1'700'000'000'000'000 + static_cast<int64_t>(position);
    return c;
  }

  void put(const std::string& path, const std::string& bytes) {
    auto f = env_.new_writable_file(path);
    ASSERT_TRUE(f.is_ok());
    ASSERT_TRUE((*f)->append(bytes).is_ok());
    ASSERT_TRUE((*f)->sync().is_ok());
  }

  FaultInjectionEnv env_;
};

TEST_F(SignedCheckpointTest, CheckpointsRoundTripThroughTheFileAndVerifyUnderThePublicKey) {
  auto key = SigningKey::open_or_create(&env_, "/data");
  ASSERT_TRUE(key.is_ok()) << key.status().to_string();
  {
    auto file = CheckpointFile::open(&env_, "/data");
    ASSERT_TRUE(file.is_ok()) << file.status().to_string();
    for (uint64_t p : {4u, 8u, 9u}) {
      SignedCheckpoint c = make(p, static_cast<uint8_t>(p));
      (*key)->sign(&c);
      ASSERT_TRUE((*file)->append(c).is_ok());
    }
    ASSERT_TRUE((*file)->close().is_ok());
  }
  EXPECT_EQ(env_.contents("/data/signatures/checkpoints").size(), signed_fmt::kFileHeaderSize + 3 * signed_fmt::kFrameSize);
  auto read = read_signed_checkpoints(&env_, "/data");
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[1].position, 8u);
  EXPECT_EQ((*read)[1].head_hash, make(8, 8).head_hash);
  EXPECT_EQ((*read)[1].recorded_at_micros, make(8, 8).recorded_at_micros);
  for (const SignedCheckpoint& c : *read) EXPECT_TRUE(signature_valid(c, (*key)->public_key()));

  // The public key on disk is the exported text form and reads back the same.
  auto pub = read_public_key_file(&env_, signing_pub_path("/data"));
  ASSERT_TRUE(pub.is_ok()) << pub.status().to_string();
  EXPECT_EQ(*pub, (*key)->public_key());
  EXPECT_EQ(env_.contents("/data/keys/signing.pub"), public_key_text(*pub) + "\n");

  // Every signed field counts: position, hash and time.
  SignedCheckpoint c = (*read)[0];
  c.position += 1;
  EXPECT_FALSE(signature_valid(c, *pub));
  c = (*read)[0];
  c.head_hash[31] ^= 1;
  EXPECT_FALSE(signature_valid(c, *pub));
  c = (*read)[0];
  c.recorded_at_micros += 1;
  EXPECT_FALSE(signature_valid(c, *pub));

  // Reopening keeps the same key pair.
  auto again = SigningKey::open_or_create(&env_, "/data");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ((*again)->public_key(), (*key)->public_key());
}

TEST_F(SignedCheckpointTest, TheSignedMessageIsDomainSeparatedAndVersioned) {
  SignedCheckpoint c = make(0x0102, 0xab);
  const std::string m = checkpoint_message(c);
  ASSERT_EQ(m.size(), 30u + 4 + 8 + 32 + 8);
  EXPECT_EQ(m.substr(0, 30), std::string("accountable/signed-checkpoint") + '\0');
  EXPECT_EQ(m.substr(30, 4), std::string("\x01\x00\x00\x00", 4));
  EXPECT_EQ(m.substr(34, 8), std::string("\x02\x01\x00\x00\x00\x00\x00\x00", 8));
  EXPECT_EQ(static_cast<uint8_t>(m[42]), 0xab);
}

TEST_F(SignedCheckpointTest, ATornLastRecordIsSkippedOnReadAndCutOnTheNextOpen) {
  auto key = SigningKey::open_or_create(&env_, "/data");
  ASSERT_TRUE(key.is_ok());
  {
    auto file = CheckpointFile::open(&env_, "/data");
    ASSERT_TRUE(file.is_ok());
    for (uint64_t p : {2u, 4u}) {
      SignedCheckpoint c = make(p, 1);
      (*key)->sign(&c);
      ASSERT_TRUE((*file)->append(c).is_ok());
    }
  }
  const std::string path = checkpoints_path("/data");
  const std::string good = env_.contents(path);
  SignedCheckpoint third = make(6, 2);
  (*key)->sign(&third);
  const std::string record = encode_checkpoint_record(third);
  std::string garbled = record;
  garbled.back() = static_cast<char>(garbled.back() ^ 0x55);
  // A crash in the middle of the third append: half of it, or all of it with a garbled byte.
  for (const std::string& torn : {record.substr(0, 50), garbled}) {
    put(path, good + torn);
    auto read = read_signed_checkpoints(&env_, "/data");
    ASSERT_TRUE(read.is_ok()) << read.status().to_string();
    EXPECT_EQ(read->size(), 2u);

    auto file = CheckpointFile::open(&env_, "/data");
    ASSERT_TRUE(file.is_ok()) << file.status().to_string();
    EXPECT_EQ((*file)->truncated_bytes_at_open(), torn.size());
    EXPECT_EQ((*file)->checkpoints().size(), 2u);
    EXPECT_EQ(env_.contents(path), good);
    ASSERT_TRUE((*file)->append(third).is_ok());  // appends after the cut
    auto after = read_signed_checkpoints(&env_, "/data");
    ASSERT_TRUE(after.is_ok());
    ASSERT_EQ(after->size(), 3u);
    EXPECT_EQ((*after)[2].position, 6u);
    put(path, good);
  }
}

TEST_F(SignedCheckpointTest, ACrcFailureBeforeTheLastRecordIsCorruptionNamingTheOffset) {
  auto key = SigningKey::open_or_create(&env_, "/data");
  ASSERT_TRUE(key.is_ok());
  {
    auto file = CheckpointFile::open(&env_, "/data");
    ASSERT_TRUE(file.is_ok());
    for (uint64_t p : {1u, 2u, 3u}) {
      SignedCheckpoint c = make(p, 3);
      (*key)->sign(&c);
      ASSERT_TRUE((*file)->append(c).is_ok());
    }
  }
  const std::string path = checkpoints_path("/data");
  const uint64_t second = signed_fmt::kFileHeaderSize + signed_fmt::kFrameSize;
  ASSERT_TRUE(env_.corrupt_byte(path, second + 20).is_ok());
  const std::string expected = path + ": record CRC mismatch at offset " + std::to_string(second);
  auto read = read_signed_checkpoints(&env_, "/data");
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(read.status().message(), expected);
  auto file = CheckpointFile::open(&env_, "/data");
  ASSERT_FALSE(file.is_ok());
  EXPECT_EQ(file.status().message(), expected);
  EXPECT_EQ(env_.contents(path).size(), signed_fmt::kFileHeaderSize + 3 * signed_fmt::kFrameSize);  // nothing cut
}

TEST_F(SignedCheckpointTest, AMissingCheckpointsFileIsNotFound) {
  auto read = read_signed_checkpoints(&env_, "/data");
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
}

TEST_F(SignedCheckpointTest, ADamagedKeyFileIsAClearErrorNamingTheFile) {
  ASSERT_TRUE(SigningKey::open_or_create(&env_, "/data").is_ok());
  const std::string path = signing_key_path("/data");
  EXPECT_EQ(env_.contents(path).size(), signed_fmt::kKeyFileSize);
  const std::string good = env_.contents(path);

  ASSERT_TRUE(env_.corrupt_byte(path, 20).is_ok());  // inside the seed
  auto damaged = SigningKey::open_or_create(&env_, "/data");
  ASSERT_FALSE(damaged.is_ok());
  EXPECT_EQ(damaged.status().code(), StatusCode::kCorruption);
  EXPECT_NE(damaged.status().message().find(path), std::string::npos) << damaged.status().message();
  EXPECT_NE(damaged.status().message().find("checksum mismatch"), std::string::npos) << damaged.status().message();
  EXPECT_EQ(env_.contents(path).size(), signed_fmt::kKeyFileSize);  // never replaced by a fresh key

  put(path, good.substr(0, 30));
  auto cut = SigningKey::load(&env_, "/data");
  ASSERT_FALSE(cut.is_ok());
  EXPECT_NE(cut.status().message().find(path), std::string::npos) << cut.status().message();

  // A signing.pub that does not belong to the seed is refused, a missing one rewritten.
  put(path, good);
  put(signing_pub_path("/data"), public_key_text(PublicKey{}) + "\n");
  auto mismatch = SigningKey::open_or_create(&env_, "/data");
  ASSERT_FALSE(mismatch.is_ok());
  EXPECT_NE(mismatch.status().message().find("signing.pub"), std::string::npos);
  ASSERT_TRUE(env_.remove_file(signing_pub_path("/data")).is_ok());
  auto rewritten = SigningKey::open_or_create(&env_, "/data");
  ASSERT_TRUE(rewritten.is_ok()) << rewritten.status().to_string();
  auto pub = read_public_key_file(&env_, signing_pub_path("/data"));
  ASSERT_TRUE(pub.is_ok());
  EXPECT_EQ(*pub, (*rewritten)->public_key());
}

TEST_F(SignedCheckpointTest, PublicKeyTextParsesOnlyItsOwnForm) {
  PublicKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7);
  const std::string text = public_key_text(k);
  EXPECT_EQ(text.substr(0, 8), "ed25519:");
  EXPECT_EQ(text.size(), 8u + 64);
  auto back = parse_public_key_text("  " + text + "\r\n");
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back, k);
  EXPECT_FALSE(parse_public_key_text(text.substr(8)).is_ok());
  EXPECT_FALSE(parse_public_key_text(text.substr(0, text.size() - 1)).is_ok());
  EXPECT_FALSE(parse_public_key_text(text.substr(0, text.size() - 1) + "g").is_ok());
  put("/data/pub.txt", "not a key\n");
  auto bad = read_public_key_file(&env_, "/data/pub.txt");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("/data/pub.txt"), std::string::npos);
}

}  // namespace
}  // namespace accountable
