# Written by bench-report: what bench/plot.gp draws from this directory.
configs = "memfd hugetlbfs mshare-anon mshare-tmpfs"
sizes = "64"
ns = "1 100 1500"
# the smallest positive and the largest median; 0: none
pt_total_kib_min = 4
pt_total_kib_max = 192000
exit_s_min = 0.00169195
exit_s_max = 4.61799
attach_write_ms_min = 1.99326
attach_write_ms_max = 64.3193
attach_read_ms_min = 1.85426
attach_read_ms_max = 12.8597
pt_all_kib_min = 4
pt_all_kib_max = 192000
