# Written by bench-report: what bench/plot.gp draws from this directory.
configs = "memfd hugetlbfs mshare-anon mshare-tmpfs"
sizes = "64 256 1024"
ns = "1 10 100 500 1500"
# the smallest positive and the largest median; 0: none
pt_total_kib_min = 4
pt_total_kib_max = 768000
exit_s_min = 0.00120813
exit_s_max = 6.01337
attach_write_ms_min = 2.72814
attach_write_ms_max = 182.402
attach_read_ms_min = 2.51046
attach_read_ms_max = 171.694
pt_all_kib_min = 4
pt_all_kib_max = 768000
