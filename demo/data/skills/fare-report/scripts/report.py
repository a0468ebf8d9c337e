import sys
print('mean fare per city from', sys.argv[1:])
