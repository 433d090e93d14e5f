// Calls waggle_lib_fire of usdtlib.c (a shared library) and prints how
// many times its probe fired.
#include <stdio.h>

int waggle_lib_fire(int n);

int main(void)
{
	printf("fired %d\n", waggle_lib_fire(4));
	return 0;
}
