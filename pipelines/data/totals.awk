# Totals units and revenue by region from a CSV with the columns
# region, product, units, revenue; prints one Markdown table row per region.
NR > 1 {
    units[$1] += $3
    revenue[$1] += $4
}
END {
    for (region in revenue) {
        printf "| %s | %d | %.2f |\n", region, units[region], revenue[region]
    }
}
