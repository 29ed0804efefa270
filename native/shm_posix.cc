// POSIX (Linux, macOS) implementation of shm.h.
#ifndef _WIN32

#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

namespace shmnet {

static Status Fail(const char* syscall) { return Status{errno, syscall}; }

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// Reserves the pages of [0, size) so that a full /dev/shm (or disk) is
// reported now instead of as SIGBUS on first touch.
static Status Reserve(int fd, uint64_t size) {
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) return Fail("ftruncate");
#ifdef __linux__
  int rc;
  do {
    rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
  } while (rc == EINTR);
  // posix_fallocate returns the error instead of setting errno. Filesystems
  // that cannot reserve (EOPNOTSUPP) keep the plain ftruncate.
  if (rc != 0 && rc != EOPNOTSUPP) return Status{rc, "posix_fallocate"};
#endif
  return Ok();
}

Status ShmOpen(const char* name, int flags, int mode, uint64_t size, Handle* out, uint64_t* actual_size,
               bool* created) {
  *created = false;
  int oflag = (flags & kShmReadOnly) ? O_RDONLY : O_RDWR;
  int fd = -1;
  if (flags & kShmCreate) {
    fd = shm_open(name, oflag | O_CREAT | O_EXCL, static_cast<mode_t>(mode));
    if (fd >= 0) {
      *created = true;
    } else if (errno != EEXIST || (flags & kShmExclusive)) {
      return Fail("shm_open");
    }
  }
  if (fd < 0) {
    fd = shm_open(name, oflag, 0);
    if (fd < 0) return Fail("shm_open");
  }
  if (*created) {
    // umask may have narrowed the mode; make it exactly what was asked.
    if (fchmod(fd, static_cast<mode_t>(mode)) != 0) {
      Status s = Fail("fchmod");
      close(fd);
      shm_unlink(name);
      return s;
    }
    Status s = Reserve(fd, size);
    if (s.err != 0) {
      close(fd);
      shm_unlink(name);
      return s;
    }
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status s = Fail("fstat");
    close(fd);
    if (*created) shm_unlink(name);
    return s;
  }
  *out = fd;
  *actual_size = static_cast<uint64_t>(st.st_size);
  return Ok();
}

Status ShmUnlink(const char* name) {
  if (shm_unlink(name) != 0) return Fail("shm_unlink");
  return Ok();
}

Handle FdHandle(int fd) { return fd; }

Status HandleSize(Handle h, uint64_t* size) {
  struct stat st;
  if (fstat(static_cast<int>(h), &st) != 0) return Fail("fstat");
  *size = static_cast<uint64_t>(st.st_size);
  return Ok();
}

Status HandleClose(Handle h) {
  if (close(static_cast<int>(h)) != 0) return Fail("close");
  return Ok();
}

Status HandleReserve(Handle h, uint64_t size) { return Reserve(static_cast<int>(h), size); }

Status MapHandle(Handle h, uint64_t offset, size_t length, int prot, int flags, void** addr, bool* populated,
                 bool* huge) {
  int mprot = prot == kProtRead ? PROT_READ : PROT_READ | PROT_WRITE;
  int mflags = prot == kProtCopyOnWrite ? MAP_PRIVATE : MAP_SHARED;
  *populated = false;
  *huge = false;
#ifdef MAP_POPULATE
  if (flags & kMapPopulate) {
    mflags |= MAP_POPULATE;
    *populated = true;
  }
#endif
  void* p = mmap(nullptr, length, mprot, mflags, static_cast<int>(h), static_cast<off_t>(offset));
  if (p == MAP_FAILED) return Fail("mmap");
  *addr = p;
  return Ok();
}

Status MapAnonymous(size_t length, int flags, void** addr, bool* huge) {
  int mflags = MAP_SHARED | MAP_ANONYMOUS;
  *huge = false;
#ifdef MAP_HUGETLB
  if (flags & kMapHugeTlb) {
    void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, mflags | MAP_HUGETLB, -1, 0);
    if (p != MAP_FAILED) {
      *huge = true;
      *addr = p;
      return Ok();
    }
    // No huge pages configured: fall through to normal pages; the caller
    // reports which was used.
  }
#endif
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, mflags, -1, 0);
  if (p == MAP_FAILED) return Fail("mmap");
  *addr = p;
  return Ok();
}

Status Unmap(void* addr, size_t length) {
  if (munmap(addr, length) != 0) return Fail("munmap");
  return Ok();
}

Status Sync(void* addr, size_t length, bool async) {
  if (msync(addr, length, async ? MS_ASYNC : MS_SYNC) != 0) return Fail("msync");
  return Ok();
}

Status Advise(void* addr, size_t length, int advice) {
  int a;
  switch (advice) {
    case kAdviceNormal: a = MADV_NORMAL; break;
    case kAdviceSequential: a = MADV_SEQUENTIAL; break;
    case kAdviceRandom: a = MADV_RANDOM; break;
    case kAdviceWillNeed: a = MADV_WILLNEED; break;
    case kAdviceDontNeed: a = MADV_DONTNEED; break;
#ifdef MADV_HUGEPAGE
    case kAdviceHugePage: a = MADV_HUGEPAGE; break;
    case kAdviceNoHugePage: a = MADV_NOHUGEPAGE; break;
#endif
    default: return Status{ENOTSUP, "madvise"};
  }
  if (madvise(addr, length, a) != 0) return Fail("madvise");
  return Ok();
}

Status Lock(void* addr, size_t length) {
  if (mlock(addr, length) != 0) return Fail("mlock");
  return Ok();
}

Status Unlock(void* addr, size_t length) {
  if (munlock(addr, length) != 0) return Fail("munlock");
  return Ok();
}

Status SysvCreate(uint64_t size, int mode, int* id) {
  int r = shmget(IPC_PRIVATE, static_cast<size_t>(size), IPC_CREAT | IPC_EXCL | (mode & 0777));
  if (r < 0) return Fail("shmget");
  *id = r;
  return Ok();
}

Status SysvSize(int id, uint64_t* size) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) return Fail("shmctl");
  *size = static_cast<uint64_t>(ds.shm_segsz);
  return Ok();
}

Status SysvAttach(int id, bool read_only, void** addr) {
  void* p = shmat(id, nullptr, read_only ? SHM_RDONLY : 0);
  if (p == reinterpret_cast<void*>(-1)) return Fail("shmat");
  *addr = p;
  return Ok();
}

Status SysvDetach(void* addr) {
  if (shmdt(addr) != 0) return Fail("shmdt");
  return Ok();
}

Status SysvRemove(int id) {
  if (shmctl(id, IPC_RMID, nullptr) != 0) return Fail("shmctl");
  return Ok();
}

}  // namespace shmnet

#endif  // !_WIN32
