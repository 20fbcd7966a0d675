META
key;value
description;Oakfield ward fund: a majority of 12 and a minority of 8
country;United Kingdom
unit;Oakfield
instance;2026
num_projects;7
num_votes;20
budget;1000
vote_type;approval
rule;greedy
currency;GBP
PROJECTS
project_id;cost;votes;name
1;400;12;Community garden
2;300;12;Street lights
3;300;12;Bike racks
4;300;8;Youth club
5;200;8;Benches
6;150;2;Mural
7;1200;5;Swimming pool
VOTES
voter_id;vote
v1;1,2,3,7
v2;1,2,3,7
v3;1,2,3,7
v4;1,2,3,7
v5;1,2,3,7
v6;1,2,3
v7;1,2,3
v8;1,2,3
v9;1,2,3
v10;1,2,3
v11;1,2,3
v12;1,2,3
v13;4,5,6
v14;4,5,6
v15;4,5
v16;4,5
v17;4,5
v18;4,5
v19;4,5
v20;4,5
