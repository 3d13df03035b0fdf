# Helpers the bench scripts share; sourced from the repository root.

# The median of whitespace-separated numbers on standard input.
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# A list of per-round figures as the tables show it: "1 · 2 · 3".
dots() { echo $1 | sed 's/ / · /g'; }

# "Measured DATE on N cores (CPU)": the opening of every section, to which the script adds its command.
measured_on() { echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"; }
