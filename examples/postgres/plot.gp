# SPDX-License-Identifier: GPL-2.0
#
# The PostgreSQL demo's plot (tools/demo-postgres):
#
#	gnuplot -e "dir='OUTDIR'" examples/postgres/plot.gp
#
# reads OUTDIR/pagetables.dat, "clients plain_kib shim_kib" a line (peak
# PageTables of the whole guest during pgbench -S; 0 clients: the server
# idle, its buffers prewarmed), and writes OUTDIR/pagetables.png.

if (!exists("dir")) dir = "."

# pngcairo draws better; the plain png terminal is the fallback.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 800,500 font 'sans,11' noenhanced
} else {
	set terminal png size 800,500 font 'sans,11' noenhanced
}
set output dir."/pagetables.png"
set title "PostgreSQL 15, pgbench -S: page-table memory against connections"
set xlabel "connections (backends running pgbench -S)"
set ylabel "PageTables at peak (MiB, the whole guest)"
set key top left Left reverse
set grid lc rgb "#dddddd"
set yrange [0:*]
set xrange [0:*]
plot dir."/pagetables.dat" using 1:($2 / 1024) with linespoints lw 2 pt 7 \
	lc rgb "#b2182b" title "plain: mmap(MAP_SHARED|MAP_ANONYMOUS)", \
     "" using 1:($3 / 1024) with linespoints lw 2 pt 5 \
	lc rgb "#2166ac" title "msharefs: libmshare-preload.so"
