#include "tests/support/fake_kube_api.h"

#include <sstream>

namespace mqb::test {

FakeKubeApi::FakeKubeApi(const TestPki& pki, const TempDir& dir, std::string token)
    : pki_(pki), dir_(dir), token_(std::move(token)) {
  tokenFile_ = dir_.write("kube-token", token_ + "\n");
}

bool FakeKubeApi::start() {
  const std::string ready = dir_.file("kube-api-ready");
  process_ = std::make_unique<ChildProcess>(
      "/usr/bin/python3",
      std::vector<std::string>{MQB_SOURCE_DIR "/tests/support/fake_kube_api.py", "--cert",
                               pki_.serverCert(), "--key", pki_.serverKey(), "--token", token_,
                               "--ready-file", ready},
      dir_.file("kube-api.log"));
  if (!process_->start() ||
      !waitFor([&] { return !readFile(ready).empty(); }, std::chrono::seconds(20))) {
    return false;
  }
  std::istringstream in(readFile(ready));
  in >> apiPort_ >> controlPort_;
  return apiPort_ > 0 && controlPort_ > 0;
}

std::string FakeKubeApi::log() const { return readFile(dir_.file("kube-api.log")); }

std::vector<std::string> FakeKubeApi::clientArgs() const {
  return {"--kube-api-server", "https://127.0.0.1:" + std::to_string(apiPort_),
          "--kube-token-file", tokenFile_,
          "--kube-ca-file",    pki_.rootCa()};
}

HttpResponse FakeKubeApi::control(const std::string& pathAndQuery) const {
  return httpGet(static_cast<std::uint16_t>(controlPort_), pathAndQuery);
}

std::string FakeKubeApi::write(const std::string& kind, const Json& content) {
  return dir_.write(std::string("kube-")
                        .append(kind)
                        .append("-")
                        .append(std::to_string(++files_))
                        .append(".json"),
                    content.dump());
}

bool FakeKubeApi::apply(const Json& object) {
  return control("/apply?file=" + write("apply", object)).status == 200;
}

bool FakeKubeApi::patch(const std::string& plural, const std::string& name, const Json& change,
                        bool status) {
  return control("/patch?plural=" + plural + "&name=" + name + "&file=" + write("patch", change) +
                 (status ? "&status=1" : ""))
             .status == 200;
}

FakeKubeApi::Json FakeKubeApi::get(const std::string& plural, const std::string& name) const {
  const auto r = control("/get?plural=" + plural + "&name=" + name);
  return r.status == 200 ? Json::parse(r.body) : Json();
}

bool FakeKubeApi::remove(const std::string& plural, const std::string& name) {
  return control("/delete?plural=" + plural + "&name=" + name).status == 200;
}

FakeKubeApi::Json FakeKubeApi::stats() const { return Json::parse(control("/stats").body); }

}  // namespace mqb::test
