/* Prints the real and effective uid it runs with: installed setuid-root in a test rootfs,
 * it shows whether exec granted privileges (no_new_privs says it must not). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
	return 0;
}
