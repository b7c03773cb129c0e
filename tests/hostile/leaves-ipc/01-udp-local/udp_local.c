/* Hostile submission: leaves System V IPC objects behind (a shared memory segment,
 * a semaphore set, a message queue under the key 0x50c1ab01), which outlive every
 * process unless the program had an IPC namespace of its own. */
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#define KEY 0x50c1ab01

int
main(void)
{
	int shm = shmget(KEY, 4096, IPC_CREAT | 0666);
	int sem = semget(KEY, 1, IPC_CREAT | 0666);
	int msg = msgget(KEY, IPC_CREAT | 0666);

	printf("IPC-CREATED shm %d sem %d msg %d\n", shm, sem, msg);
	return 0;
}
