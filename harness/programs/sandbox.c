/* sandbox.c - run one student program in the grader's sandbox:
 *   sandbox [--events FILE] [--open-files N] [--net-raw] [--bind SRC:DST]...
 *           [--writable DIR]... [--] PROG [ARGS...]
 *
 * --events FILE   append what the sandbox did to the program, one word a line
 *                 ("flooded stdout", "cpu-hog"), for the harness's results model
 * --open-files N  the descriptor limit (default MAX_OPEN_FILES)
 * --net-raw       keep CAP_NET_RAW (raw sockets in the test's network namespace)
 *                 and no other capability
 * --bind SRC:DST  show the file SRC at DST (read-only), e.g. a lab's /etc/hosts
 * --writable DIR  leave DIR writable (a per-test directory shared with peers)
 * --map-ids       map the lab root's users and groups one to one into the program's
 *                 user namespace, so the ids the kernel reports to it (SO_PEERCRED,
 *                 stat) are the lab root's and not the overflow id; it keeps no
 *                 capability there
 *
 * harness/sandbox.py builds this and says what it does and why; in short, PROG gets
 * limits (CPU, memory, processes, files, output), the lowest CPU priority, its own
 * PID namespace (nothing it leaves behind survives it), a mount namespace in which
 * every file system is read-only, its own user namespace (so RLIMIT_NPROC counts it
 * alone), and, when the grader is the real root, the uid SANDBOX_UID.
 *
 * Three processes: this one (the harness's handle: it passes output on, cuts it off
 * past OUTPUT_LIMIT, and exits the way PROG did), an init (PID 1 of the new PID
 * namespace: mounts, passes signals on, reaps), and PROG. Without namespaces the init
 * is skipped and this process, a child subreaper, kills whatever PROG left behind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/syscall.h>

#define SANDBOX_UID 65534
#define OUTPUT_LIMIT (2L << 20)		/* per stream; below process.py's own limit */
#define MEMORY_LIMIT (256L << 20)
#define CPU_SECONDS 10.0		/* scaled by SOCKLAB_TIMEOUT_SCALE */
#define MAX_PROCESSES 16
#define MAX_OPEN_FILES 256
#define MAX_FILE_SIZE (16L << 20)
#define NICENESS 19		/* for a program that hogs the CPU (see demote_hogs) */
#define HOG_CPU_SECONDS 1.0	/* CPU time of all its processes; scaled like CPU_SECONDS */
#define HOG_CHECK_NS 20000000L	/* how often the init looks */
#define PRIVATE_TMP "/dev/shm"
#define TMP_OPTIONS "size=16m,mode=1777"

#define MAX_BINDS 8

static pid_t child = -1;
static int private_tmp_ready;
static int own_proc;		/* /proc shows our PID namespace only */

/* The options (see the top of the file). */
static int events_fd = -1;
static rlim_t open_files = MAX_OPEN_FILES;
static int keep_net_raw;
static const char *bind_sources[MAX_BINDS], *bind_targets[MAX_BINDS];
static int binds;
static const char *writables[MAX_BINDS];
static int writable_count;
static int map_ids;

/* Tell the harness what happened to the program: one line in the events file. */
static void
event(const char *what)
{
	if (events_fd >= 0 && write(events_fd, what, strlen(what)) < 0)
		return;	/* only a report: the sandbox goes on without it */
	if (events_fd >= 0 && write(events_fd, "\n", 1) < 0)
		return;
}

static void
note(const char *what)
{
	fprintf(stderr, "sandbox: %s: %s\n", what, strerror(errno));
}

static void
forward(int signum)
{
	if (child > 0)
		kill(child, signum);
}

static void
catch_stop_signals(void (*handler)(int))
{
	struct sigaction action;
	int signums[] = {SIGTERM, SIGINT, SIGHUP};
	size_t i;

	memset(&action, 0, sizeof action);
	action.sa_handler = handler;
	for (i = 0; i < sizeof signums / sizeof signums[0]; i++)
		sigaction(signums[i], &action, NULL);
}

/* Undo \040-style escapes of /proc/self/mountinfo in place. */
static void
unescape(char *text)
{
	char *in = text, *out = text;

	while (*in) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] && in[3]) {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else
			*out++ = *in++;
	}
	*out = '\0';
}

/* The flags a read-only remount must keep (the parent namespace locked them). */
static unsigned long
kept_flags(const char *options)
{
	unsigned long flags = 0;
	char copy[512], *word, *rest;

	snprintf(copy, sizeof copy, "%s", options);
	for (word = strtok_r(copy, ",", &rest); word; word = strtok_r(NULL, ",", &rest)) {
		if (!strcmp(word, "nosuid")) flags |= MS_NOSUID;
		else if (!strcmp(word, "nodev")) flags |= MS_NODEV;
		else if (!strcmp(word, "noexec")) flags |= MS_NOEXEC;
		else if (!strcmp(word, "noatime")) flags |= MS_NOATIME;
		else if (!strcmp(word, "nodiratime")) flags |= MS_NODIRATIME;
		else if (!strcmp(word, "relatime")) flags |= MS_RELATIME;
	}
	return flags;
}

/* Is target one of the --writable directories? */
static int
is_writable(const char *target)
{
	int i;

	for (i = 0; i < writable_count; i++)
		if (strcmp(target, writables[i]) == 0)
			return 1;
	return 0;
}

/* The --bind files and --writable directories, each a mount of its own (so the
 * read-only pass that follows can tell them apart). */
static int
show_files(void)
{
	int i;

	for (i = 0; i < binds; i++)
		if (mount(bind_sources[i], bind_targets[i], NULL, MS_BIND, NULL) != 0) {
			note(bind_targets[i]);
			return -1;
		}
	for (i = 0; i < writable_count; i++)
		if (mount(writables[i], writables[i], NULL, MS_BIND, NULL) != 0) {
			note(writables[i]);
			return -1;
		}
	return 0;
}

/* In a new mount namespace: /proc for the new PID namespace, every mount
 * read-only, a private tmpfs for TMPDIR. Returns -1 if the namespace is missing. */
static int
make_files_read_only(void)
{
	FILE *table;
	char line[4096], target[4096], options[512];

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		note("cannot make a mount namespace");
		return -1;
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
		own_proc = 1;
	else
		note("mount /proc");
	if (show_files() != 0)
		return -1;
	if ((table = fopen("/proc/self/mountinfo", "r")) == NULL) {
		note("/proc/self/mountinfo");
		return -1;
	}
	while (fgets(line, sizeof line, table)) {
		if (sscanf(line, "%*s %*s %*s %*s %4095s %511s", target, options) != 2)
			continue;
		unescape(target);
		if (is_writable(target))
			continue;
		if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(options),
			  NULL) != 0 && errno != ENOENT && errno != EACCES)
			note(target);
	}
	fclose(table);
	if (access(PRIVATE_TMP, F_OK) == 0 &&
	    mount("tmpfs", PRIVATE_TMP, "tmpfs", MS_NOSUID | MS_NODEV, TMP_OPTIONS) == 0) {
		setenv("TMPDIR", PRIVATE_TMP, 1);
		private_tmp_ready = 1;
	}
	return 0;
}

/* Is uid mapped here, and is our root the real root? */
static int
real_root_maps(unsigned long uid)
{
	FILE *table = fopen("/proc/self/uid_map", "r");
	unsigned long inside, outside, count;
	int real_root = 0, mapped = 0;

	if (table == NULL)
		return 0;
	while (fscanf(table, "%lu %lu %lu", &inside, &outside, &count) == 3) {
		real_root |= inside == 0 && outside == 0;
		mapped |= inside <= uid && uid - inside < count;
	}
	fclose(table);
	return real_root && mapped;
}

/* Could SANDBOX_UID run (or read) path? */
static int
reachable(const char *path, int run)
{
	int ok;

	if (setegid(SANDBOX_UID) != 0 || seteuid(SANDBOX_UID) != 0)
		return 0;
	ok = faccessat(AT_FDCWD, path, run ? X_OK : R_OK, AT_EACCESS) == 0;
	if (seteuid(0) != 0 || setegid(0) != 0)
		_exit(126);
	return ok;
}

/* Make every file in argv reachable for SANDBOX_UID: bind-mount those it cannot
 * reach (a tree in a private home, say) into the private tmpfs under their own
 * names. Returns -1 if one cannot be. */
static int
make_reachable(char **argv)
{
	static char targets[8][512];
	struct stat info;
	int i, fd;

	for (i = 0; argv[i]; i++) {
		if (argv[i][0] != '/' || stat(argv[i], &info) != 0 || !S_ISREG(info.st_mode) ||
		    reachable(argv[i], i == 0))
			continue;
		if (!private_tmp_ready || i >= 8)
			return -1;
		snprintf(targets[i], sizeof targets[i], PRIVATE_TMP "/.programs-%d", i);
		if (mkdir(targets[i], 0755) != 0 && errno != EEXIST)
			return -1;
		snprintf(targets[i] + strlen(targets[i]), sizeof targets[i] - strlen(targets[i]),
			 "/%s", strrchr(argv[i], '/') + 1);
		if ((fd = open(targets[i], O_CREAT | O_WRONLY, 0755)) < 0)
			return -1;
		close(fd);
		if (mount(argv[i], targets[i], NULL, MS_BIND, NULL) != 0 || !reachable(targets[i], i == 0))
			return -1;
		argv[i] = targets[i];
	}
	return 0;
}

/* Keep CAP_NET_RAW, and only it, across the change of user and the exec: in the
 * bounding set, and as an ambient capability (the program file has none). */
static int
keep_only_net_raw(int before_setuid)
{
	struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	int cap;

	if (before_setuid) {
		/* Dropping from the bounding set takes CAP_SETPCAP in the effective set,
		 * which a change of user (to nobody, as the real root) clears: drop first. */
		for (cap = 0; cap <= CAP_LAST_CAP; cap++)
			if (cap != CAP_NET_RAW && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
			    errno != EINVAL)
				return -1;
		return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	}
	memset(data, 0, sizeof data);
	data[0].effective = data[0].permitted = data[0].inheritable = 1u << CAP_NET_RAW;
	if (syscall(SYS_capset, &header, data) != 0)
		return -1;
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0);
}

/* --map-ids: a helper, still in the lab root's user namespace (only a process there
 * may write a map of more than its own id), waits for the byte we write on *go once
 * we have a user namespace of our own, then gives it the lab root's ids one to one.
 * Our /proc is read-only by then: the helper writes through a proc of its own. */
static pid_t
start_id_mapper(int *go)
{
	static const char *tables[] = {"uid_map", "gid_map"};
	static const char own_proc_dir[] = PRIVATE_TMP "/.proc-for-ids";
	char map[1024], path[128], line[128];
	const char *proc = "/proc";
	unsigned long inside, outside, count;
	int pipe_fds[2], i, fd, ok = 1;
	size_t used;
	FILE *own;
	pid_t helper;

	if (pipe(pipe_fds) != 0 || (helper = fork()) < 0)
		return -1;
	if (helper > 0) {
		close(pipe_fds[0]);
		*go = pipe_fds[1];
		return helper;
	}
	close(pipe_fds[1]);
	if (read(pipe_fds[0], line, 1) != 1)
		_exit(1);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "/proc/self/%s", tables[i]);
		if ((own = fopen(path, "r")) == NULL)
			_exit(1);
		for (used = 0; used < sizeof map &&
		     fscanf(own, "%lu %lu %lu", &inside, &outside, &count) == 3;)
			used += (size_t)snprintf(map + used, sizeof map - used, "%lu %lu %lu\n",
						 inside, inside, count);
		fclose(own);
		snprintf(path, sizeof path, "%s/%d/%s", proc, (int)getppid(), tables[i]);
		if (used < sizeof map && (fd = open(path, O_WRONLY)) < 0 && errno == EROFS &&
		    mkdir(own_proc_dir, 0700) == 0 &&
		    mount("proc", own_proc_dir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
			proc = own_proc_dir;
			snprintf(path, sizeof path, "%s/%d/%s", proc, (int)getppid(), tables[i]);
			fd = open(path, O_WRONLY);
		}
		if (used >= sizeof map || fd < 0)
			_exit(1);
		ok &= write(fd, map, used) == (ssize_t)used;
		close(fd);
	}
	if (proc == own_proc_dir && (umount2(own_proc_dir, MNT_DETACH) != 0 || rmdir(own_proc_dir) != 0))
		ok = 0;
	_exit(ok ? 0 : 1);
}

/* The end of --map-ids, in our new user namespace: let the helper map it, and make
 * sure that even an id 0 there keeps no capability across exec. */
static void
finish_id_map(pid_t helper, int go, int unshared)
{
	int status = 1;

	if (unshared && write(go, "!", 1) != 1)
		unshared = 0;
	close(go);
	while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
		;
	if (!unshared || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "sandbox: could not map the lab root's ids; they read as the "
			"overflow id\n");
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0, 0) != 0 &&
	    unshared)
		_exit(126);
}

/* Leave the real root (exempt from RLIMIT_NPROC) if we can, then enter a user
 * namespace of our own so that RLIMIT_NPROC counts this program's processes only.
 * With --net-raw the program stays in the lab root's user namespace (which owns the
 * test's network namespace, where the raw socket must be allowed), keeping
 * CAP_NET_RAW alone. */
static void
drop_to_own_user(char **argv)
{
	pid_t mapper = -1;
	int go = -1;

	if (keep_net_raw && keep_only_net_raw(1) != 0)
		_exit(126);
	if (map_ids && !keep_net_raw && (mapper = start_id_mapper(&go)) < 0)
		note("start the id mapper");
	if (getuid() == 0 && real_root_maps(SANDBOX_UID) && setgroups(0, NULL) == 0 &&
	    make_reachable(argv) == 0) {
		if (setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0 ||
		    setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0)
			_exit(126);
	}
	if (keep_net_raw) {
		if (keep_only_net_raw(0) != 0) {
			note("keep CAP_NET_RAW");
			_exit(126);
		}
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(126);
		return;
	}
	/* best effort: without it the count is per grader */
	if (mapper > 0)
		finish_id_map(mapper, go, unshare(CLONE_NEWUSER) == 0);
	else
		(void)unshare(CLONE_NEWUSER);
}

/* SOCKLAB_TIMEOUT_SCALE: CPU budgets stretch with the grader's timeouts. */
static double
timeout_scale(void)
{
	const char *text = getenv("SOCKLAB_TIMEOUT_SCALE");
	double scale = text && *text ? atof(text) : 1.0;

	return scale > 0 ? scale : 1.0;
}

static void
limit(int resource, rlim_t value)
{
	struct rlimit old, new = {value, value};

	if (getrlimit(resource, &old) == 0 && old.rlim_max != RLIM_INFINITY && old.rlim_max < value)
		new.rlim_cur = new.rlim_max = old.rlim_max;
	if (setrlimit(resource, &new) != 0)
		note("setrlimit");
}

static void
set_limits(void)
{
	const char *mode = getenv("SOCKLAB_SANDBOX");
	rlim_t cpu = (rlim_t)(CPU_SECONDS * timeout_scale());
	struct rlimit cpu_limit = {cpu, cpu + 1};

	setrlimit(RLIMIT_CPU, &cpu_limit);
	limit(RLIMIT_NPROC, MAX_PROCESSES);
	limit(RLIMIT_NOFILE, open_files);
	limit(RLIMIT_FSIZE, MAX_FILE_SIZE);
	limit(RLIMIT_CORE, 0);
	if (mode == NULL || strcmp(mode, "no-memory-limit") != 0)
		limit(RLIMIT_AS, MEMORY_LIMIT);
}

/* Become the program. Never returns. */
static void
run_program(char **argv)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	catch_stop_signals(SIG_DFL);
	drop_to_own_user(argv);
	set_limits();
	execvp(argv[0], argv);
	fprintf(stderr, "sandbox: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Once the processes of this PID namespace have used more than HOG_CPU_SECONDS of
 * CPU, give them all the lowest priority, so that a busy loop or a fork bomb cannot
 * starve the grader and other tests. A program that computes little (every correct
 * lab program) keeps its normal priority, and with it its timing. */
static void
demote_hogs(void)
{
	static int hogging;
	static long ticks;
	unsigned long user, system, used = 0;
	char path[64], stat[1024], *end;
	struct dirent *entry;
	DIR *proc;
	FILE *file;

	if (ticks == 0)
		ticks = sysconf(_SC_CLK_TCK);
	if (!own_proc || (proc = opendir("/proc")) == NULL)	/* never touch the grader */
		return;
	while ((entry = readdir(proc)) != NULL) {
		long pid = strtol(entry->d_name, &end, 10);

		if (*end != '\0' || pid <= 1)
			continue;
		if (hogging) {
			setpriority(PRIO_PROCESS, (id_t)pid, NICENESS);
			continue;
		}
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		if ((file = fopen(path, "r")) == NULL)
			continue;
		/* After "(comm)" come 11 fields, then utime and stime. */
		if (fgets(stat, sizeof stat, file) && (end = strrchr(stat, ')')) != NULL &&
		    sscanf(end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			   &user, &system) == 2)
			used += user + system;
		fclose(file);
	}
	closedir(proc);
	if (!hogging && used > HOG_CPU_SECONDS * timeout_scale() * (double)ticks) {
		hogging = 1;
		fprintf(stderr, "sandbox: the program used %.1f s of CPU; from now on it runs at "
			"the lowest priority\n", (double)used / (double)ticks);
		event("cpu-hog");
		demote_hogs();
	}
}

/* PID 1 of the program's PID namespace: start it, pass signals on, reap orphans,
 * demote CPU hogs; report how it ended and exit, which ends everything left in the
 * namespace. */
static void
be_init(char **argv, int status_pipe)
{
	struct timespec period = {0, HOG_CHECK_NS};
	sigset_t chld;
	int status;
	pid_t pid;

	if (make_files_read_only() != 0)
		_exit(126);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);	/* taken by sigtimedwait() below */
	if ((child = fork()) < 0)
		_exit(126);
	if (child == 0) {
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		close(status_pipe);
		run_program(argv);
	}
	catch_stop_signals(forward);
	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != child)
				continue;
			if (write(status_pipe, &status, sizeof status) != sizeof status)
				_exit(126);
			_exit(0);
		}
		if (pid < 0 && errno == ECHILD)
			_exit(126);
		demote_hogs();
		sigtimedwait(&chld, NULL, &period);
	}
}

/* Living descendants of this process, from /proc; kill them all (we are their
 * subreaper, so orphans are ours). */
static void
kill_descendants(void)
{
	char path[64];
	FILE *list;
	long pid;
	int round, found;

	for (round = 0; round < 100; round++) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
		if ((list = fopen(path, "r")) == NULL)
			return;
		for (found = 0; fscanf(list, "%ld", &pid) == 1; found++)
			kill((pid_t)pid, SIGKILL);
		fclose(list);
		if (!found)
			return;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		usleep(1000);
	}
}

static int child_status, child_done;

static int
child_exited(void)
{
	if (!child_done && waitpid(child, &child_status, WNOHANG) == child)
		child_done = 1;
	return child_done;
}

/* Copy the program's output to ours until it ends; 1 if it was cut off. */
static int
pass_output(int out, int err)
{
	struct pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
	long written[2] = {0, 0};
	char buffer[65536];
	int open_pipes = 2, i, ready;
	ssize_t n, room, done;

	while (open_pipes > 0) {
		ready = poll(fds, 2, 200);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0 && child_exited())
			kill_descendants();	/* a leftover still holds our pipes */
		for (i = 0; i < 2 && ready > 0; i++) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(fds[i].fd, buffer, sizeof buffer);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fds[i].fd = -1;
				open_pipes--;
				continue;
			}
			room = OUTPUT_LIMIT - written[i];
			for (done = 0; done < (n < room ? n : room);) {
				ssize_t w = write(i + 1, buffer + done, (size_t)((n < room ? n : room) - done));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				done += w;
			}
			written[i] += n;
			if (written[i] > OUTPUT_LIMIT) {
				kill(child, SIGKILL);
				kill_descendants();
				fprintf(stderr, "sandbox: the program printed more than %ld MiB on %s "
					"and was stopped\n", OUTPUT_LIMIT >> 20, i ? "stderr" : "stdout");
				event(i ? "flooded stderr" : "flooded stdout");
				return 1;
			}
		}
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sandbox [--events FILE] [--open-files N] [--net-raw] [--map-ids] "
		"[--bind SRC:DST]... [--writable DIR]... [--] PROGRAM [ARGS...]\n");
	exit(2);
}

/* Read the options; returns the index of PROGRAM in argv. */
static int
parse_options(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *option = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
		char *colon, *end;

		if (strcmp(option, "--") == 0)
			return i + 1 < argc ? i + 1 : (usage(), 0);
		if (strcmp(option, "--net-raw") == 0) {
			keep_net_raw = 1;
			continue;
		}
		if (strcmp(option, "--map-ids") == 0) {
			map_ids = 1;
			continue;
		}
		if (value == NULL)
			usage();
		i++;
		if (strcmp(option, "--events") == 0) {
			events_fd = open(value, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			if (events_fd < 0)
				note(value);
		} else if (strcmp(option, "--open-files") == 0) {
			open_files = (rlim_t)strtoul(value, &end, 10);
			if (*end != '\0' || open_files < 3)
				usage();
		} else if (strcmp(option, "--bind") == 0 && binds < MAX_BINDS &&
			   (colon = strchr(value, ':')) != NULL) {
			*colon = '\0';
			bind_sources[binds] = value;
			bind_targets[binds++] = colon + 1;
		} else if (strcmp(option, "--writable") == 0 && writable_count < MAX_BINDS) {
			writables[writable_count++] = value;
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	return i;
}

int
main(int argc, char **argv)
{
	int out[2], err[2], status_pipe[2], isolated, status, flooded, first;
	struct rlimit no_core = {0, 0};

	first = parse_options(argc, argv);
	argv += first - 1;
	setrlimit(RLIMIT_CORE, &no_core);	/* we may re-raise the program's SIGSEGV */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(status_pipe, O_CLOEXEC)) {
		note("pipe");
		return 126;
	}
	isolated = unshare(CLONE_NEWPID) == 0;	/* our next child is PID 1 of a new namespace */
	if ((child = fork()) < 0) {
		note("fork");
		return 126;
	}
	if (child == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(status_pipe[0]);
		if (isolated)
			be_init(argv + 1, status_pipe[1]);
		close(status_pipe[1]);
		run_program(argv + 1);
	}
	close(out[1]);
	close(err[1]);
	close(status_pipe[1]);
	catch_stop_signals(forward);
	flooded = pass_output(out[0], err[0]);
	while (!child_done) {
		if (waitpid(child, &child_status, 0) == child)
			child_done = 1;
		else if (errno != EINTR)
			break;
	}
	status = child_status;
	if (isolated && read(status_pipe[0], &status, sizeof status) != sizeof status)
		status = child_status;
	kill_descendants();
	if (flooded)
		return 125;
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		kill(getpid(), WTERMSIG(status));
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
