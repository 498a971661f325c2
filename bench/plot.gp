# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The plots of a bench-report output directory:
#
#	gnuplot -e "dir='OUTDIR'" bench/plot.gp
#
# reads OUTDIR/plotvars.gp and OUTDIR/<metric>.dat, both written by
# bench-report, and writes
#   OUTDIR/pagetables.png  page-table memory in all (the region's own and
#                          all N processes'), against N
#   OUTDIR/times.png       attach + write time and exit time, against N
# Log-log, one panel per touched size S, one line per configuration.

if (!exists("dir")) dir = "."
load dir."/plotvars.gp"

nc = words(configs)
nsz = words(sizes)
nmin = word(ns, 1) + 0.0
nmax = word(ns, words(ns)) + 0.0

# The baselines warm, mshare cool; anything else grey.
color(c) = c eq "memfd" ? "#d7301f" : c eq "hugetlbfs" ? "#fc8d59" : \
	   c eq "mshare-anon" ? "#2166ac" : c eq "mshare-tmpfs" ? "#1a9850" : "#777777"
ptype(i) = word("7 5 9 13 11 15", (i - 1) % 6 + 1) + 0

# pngcairo draws better; the plain png terminal is the fallback.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	term_name = "pngcairo"
} else {
	term_name = "png"
}
width = 440 * nsz + 60
if (width < 180 * nc + 40) {
	width = 180 * nc + 40
}
term_opts = sprintf("size %d,%%d font 'sans,11' noenhanced", width)
# the panels' margins and the space between them, in pixels
lm = 95.0 / width
rm = 1 - 25.0 / width
hs = 85.0 / width

# The legend: one row under the title, at screen height key_y, drawn with
# the first panel (a key of gnuplot's own would get that panel's width).
key_x(i) = 0.5 + (i - 1 - nc / 2.0) * 180.0 / width
legend_on = "do for [i = 1:nc] { \
	set arrow 100 + i from screen key_x(i) + 10.0 / width, screen key_y \
		to screen key_x(i) + 46.0 / width, screen key_y nohead \
		lw 2 lc rgb color(word(configs, i)); \
	set label 100 + i '' at screen key_x(i) + 28.0 / width, screen key_y \
		point pt ptype(i) ps 1.2 lc rgb color(word(configs, i)); \
	set label 200 + i word(configs, i) at screen key_x(i) + 54.0 / width, \
		screen key_y left \
}"
legend_off = "do for [i = 1:nc] { unset arrow 100 + i; unset label 100 + i; unset label 200 + i }"
unset key

# The N axis: log, a tick at each N measured.
set logscale x
set xrange [nmin / 1.6 : nmax * 1.6]
set xtics ()
do for [k = 1:words(ns)] {
	set xtics add (word(ns, k) word(ns, k) + 0)
}
set mxtics default
set grid xtics ytics mytics lc rgb "#dddddd" lw 1, lc rgb "#eeeeee" lw 1
set xlabel "N (processes attached)"
set logscale y
set format y "%g"

# --- page-table memory ------------------------------------------------

# PageTables is counted in 4 KiB pages and its delta can be 0 or below:
# such values are drawn at one page, the floor of the axis.
pt_floor = 4096
pt_y(kib) = kib * 1024 < pt_floor ? pt_floor : kib * 1024

eval sprintf("set terminal %s %s", term_name, sprintf(term_opts, 500))
set output dir."/pagetables.png"
set multiplot layout 1, nsz title \
	"Page-table memory in all, against N (under 4 KiB drawn at 4 KiB)" \
	margins lm, rm, 0.12, 0.80 spacing hs, 0
set ylabel "page tables"
# a tick every 16 times more, from one page: 4 KiB, 64 KiB, 1 MiB...
set ytics ()
do for [e = 12:48:4] {
	set ytics add (sprintf("%d %s", 2**(e % 10), word("B KiB MiB GiB TiB", e / 10 + 1)) 2.0**e)
}
if (pt_all_kib_max > 0) {
	set yrange [pt_floor / 1.6 : (pt_all_kib_max * 1024 < pt_floor ? pt_floor : pt_all_kib_max * 1024) * 2]
} else {
	set yrange [pt_floor / 1.6 : pt_floor * 256]
}
do for [j = 1:nsz] {
	set title sprintf("S = %s MiB", word(sizes, j))
	if (j == 1) {
		key_y = 0.9
		eval legend_on
	} else {
		eval legend_off
	}
	if (pt_all_kib_max > 0) {
		plot for [i = 1:nc] dir."/pt_all_kib.dat" index (j - 1) \
			using 1:(pt_y(column(i + 1))) with linespoints \
			lw 2 pt ptype(i) ps 1.2 lc rgb color(word(configs, i)) \
			title word(configs, i)
	} else {
		set label 1 "no data" at graph 0.5, 0.5 center
		plot 1 notitle
		unset label 1
	}
	unset ylabel
}
unset multiplot

# --- times ------------------------------------------------------------

eval sprintf("set terminal %s %s", term_name, sprintf(term_opts, 900))
set output dir."/times.png"
set multiplot layout 2, nsz title "Time against N (medians over the repetitions)" \
	margins lm, rm, 0.07, 0.88 spacing hs, 0.08
set format y "%g"
set ytics autofreq
metrics = "attach_write_ms exit_s"
labels = "'attach + write every page, median process (ms)' 'exit of all N processes (s)'"
do for [m = 1:2] {
	metric = word(metrics, m)
	eval sprintf("lo = %s_min; hi = %s_max", metric, metric)
	if (hi > 0) {
		set yrange [lo / 2.0 : hi * 2.0]
	} else {
		set yrange [1 : 10]
	}
	# N is on the bottom row's axis
	if (m == 1) {
		unset xlabel
	} else {
		set xlabel "N (processes attached)"
	}
	do for [j = 1:nsz] {
		set title sprintf("S = %s MiB", word(sizes, j))
		if (j == 1) {
			set ylabel word(labels, m)
		} else {
			unset ylabel
		}
		if (m == 1 && j == 1) {
			key_y = 0.945
			eval legend_on
		} else {
			eval legend_off
		}
		if (hi > 0) {
			plot for [i = 1:nc] dir."/".metric.".dat" index (j - 1) \
				using 1:(column(i + 1)) with linespoints \
				lw 2 pt ptype(i) ps 1.2 lc rgb color(word(configs, i)) \
				title word(configs, i)
		} else {
			set label 1 "no data" at graph 0.5, 0.5 center
			plot 100 notitle
			unset label 1
		}
	}
}
unset multiplot
