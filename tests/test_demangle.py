"""abiguard.demangle against binutils' c++filt, on real C++ names of this machine.

The oracle is ``c++filt -i -s gnu-v3`` (binutils; ``-i``: no implementation details, which is
what GCC's own ``__cxa_demangle`` prints: ``std::ostream`` rather than its expansion). The
names come from the dynamic symbol tables of real libraries and programs (libstdc++, apt's
libapt-pkg and its programs) and from a g++-built fixture with templates, operators, lambdas,
constructors, vtables and typeinfo.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from abiguard.demangle import available, demangle, demangling, display
from abiguard.elf import read_elf

CXXFILT = shutil.which("c++filt")

REAL = ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libapt-pkg.so.6.0",
        "/usr/lib/x86_64-linux-gnu/libapt-private.so.0.0", "/usr/bin/apt", "/usr/bin/apt-get",
        "/usr/bin/apt-cache"]

CXX_SOURCE = r"""
#include <map>
#include <string>
#include <vector>
#include <functional>
namespace ns { namespace inner {
template <typename T, int N> struct Box { T v[N]; Box(); ~Box(); T &operator[](int i);
  template <typename U> U cast() const; static int count; };
template <typename T, int N> Box<T, N>::Box() {}
template <typename T, int N> Box<T, N>::~Box() {}
template <typename T, int N> T &Box<T, N>::operator[](int i) { return v[i]; }
template <typename T, int N> template <typename U> U Box<T, N>::cast() const { return U(v[0]); }
template <typename T, int N> int Box<T, N>::count = 0;
template struct Box<double, 3>;
template long Box<double, 3>::cast<long>() const;
struct Base { virtual ~Base(); virtual int f(const std::string &) const; };
Base::~Base() {}
int Base::f(const std::string &s) const { return (int)s.size(); }
} }
int apply(std::function<int(const std::vector<std::string> &)> fn,
          const std::map<std::string, std::vector<int>> &m, ...) { return fn({}) + (int)m.size(); }
bool operator==(const ns::inner::Base &, const ns::inner::Base &) { return true; }
auto lambda_holder() { return [](int x) { return x + 1; }; }
int use_lambda(int x) { return lambda_holder()(x); }
extern "C" int plain_c_function(int x) { return x; }
"""


def cxxfilt(names: list[str]) -> list[str]:
    proc = subprocess.run([CXXFILT, "-i", "-s", "gnu-v3"], input="\n".join(names) + "\n",
                          capture_output=True, text=True, check=True)
    out = proc.stdout.splitlines()
    assert len(out) == len(names)
    return out


def real_names() -> list[str]:
    names: set[str] = set()
    for path in REAL:
        assert Path(path).exists(), f"{path} is part of the test set (Debian's apt, libstdc++6)"
        elf = read_elf(path)
        names.update(elf.imports.names())
        names.update(elf.exports.names())
    return sorted(names)


@pytest.fixture(scope="module")
def fixture_names(tmp_path_factory) -> list[str]:
    assert shutil.which("g++"), "g++ is needed (scripts/setup-debian.sh installs it)"
    d = tmp_path_factory.mktemp("cxx")
    (d / "lib.cc").write_text(CXX_SOURCE)
    subprocess.run(["g++", "-std=c++17", "-shared", "-fPIC", "-o", str(d / "libcxx.so"),
                    str(d / "lib.cc")], check=True)
    elf = read_elf(str(d / "libcxx.so"))
    return sorted(set(elf.exports.names()) | set(elf.imports.names()))


def test_libstdcxx_is_there():
    assert available(), "libstdc++.so.6 could not be loaded"


@pytest.mark.parametrize("source", ["real", "fixture"])
def test_equals_cxxfilt(source, fixture_names):
    assert CXXFILT, "c++filt (binutils) is the oracle"
    names = real_names() if source == "real" else fixture_names
    mangled = [n for n in names if n.startswith("_Z")]
    assert len(mangled) > (3000 if source == "real" else 20)
    ours = [demangle(n) for n in names]
    theirs = cxxfilt(names)
    diff = [(n, a, b) for n, a, b in zip(names, ours, theirs) if a != b]
    assert diff == [], f"{len(diff)} of {len(names)} differ, e.g. {diff[:3]}"
    # the oracle did demangle them: the test is not comparing raw names with raw names
    assert sum(1 for n, a in zip(names, ours) if a != n) > 0.95 * len(mangled)


def test_plain_names_stay(fixture_names):
    assert "plain_c_function" in fixture_names
    for name in ("plain_c_function", "xc_interface_open", "i", "f", "main", "_init", "Z",
                 "_Z", "_Znotmangled", ""):
        assert demangle(name) == (cxxfilt([name])[0] if name else "")
    assert demangle("i") == "i"  # __cxa_demangle alone would say "int"


def test_display_follows_the_setting():
    name = "_ZN13Configuration3SetEPKcRKi"
    assert display(name) == "Configuration::Set(char const*, int const&)"
    with demangling(False):
        assert display(name) == name
        with demangling(True):
            assert display(name) != name
        assert display(name) == name
    assert display(name) != name


def test_fast():
    names = [n for n in real_names() if n.startswith("_Z")]
    demangle.cache_clear()
    t0 = time.perf_counter()
    for n in names:
        demangle(n)
    per_name = (time.perf_counter() - t0) / len(names)
    assert per_name < 100e-6, f"{per_name * 1e6:.1f} µs per name"
