ja -1
exit
