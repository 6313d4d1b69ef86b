"""Hand-written MovieLens-format files (not copies of MovieLens), written to a temp folder by tests.

They are kept as strings so that no file named like a MovieLens file is ever in git.
"""
from pathlib import Path

ML100K = {
    "u.data": "1\t10\t4\t880000000\n2\t10\t5\t880000100\n1\t11\t3\t880000200\n"
              "3\t12\t2\t880000300\n2\t13\t1\t880000400\n3\t10\t4\t880000500\n",
    "u.item": "10|Alpha Movie (1990)|01-Jan-1990||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
              "11|Beta, The (1995)|01-Jan-1995||http://x|0|0|0|0|0|1|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
              "12|Gamma (1977)|01-Jan-1977||http://x|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0|0\n"
              "13|Gamma (1977)|01-Jan-1977||http://x|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0|0\n",
    "u.user": "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n",
}

ML1M = {
    "ratings.dat": "1::10::5::978300760\n1::11::3::978302109\n2::10::4::978301968\n2::12::2::978300275\n",
    "movies.dat": "10::Toy Box (1995)::Animation|Children's|Comedy\n11::Jumping (1995)::Adventure|Children's|Fantasy\n"
                  "12::Old Men (1995)::Comedy|Romance\n",
    "users.dat": "1::F::1::10::48067\n2::M::56::16::70072\n",
}

PACKAGED = {
    "inter": "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t267\t3\t881250949\n2\t1412\t4\t881250950\n"
             "1\t5\t5\t881250951\n",
    "item": "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
            "267\tunkonwn\tunkonwn\tunknown\n1412\tLand Before Time III: The Time of the Great Giving (1995)\tV\tAnimation Children's\n"
            "5\tCopycat\t1995\tCrime Drama Thriller\n",
    "user": "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n1\t24\tM\ttechnician\t85711\n"
            "2\t53\tF\tother\t94043\n",
}

# GroupLens' current format (ml-20m / ml-25m): headed CSV, quoted titles, "(no genres listed)", half stars.
ML25M = {
    "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,1147880044\n1,2,3.5,1147868817\n2,3,0.5,1147868828\n"
                   "2,1,5.0,1147878820\n10,4,2.5,1147868510\n10,5,3.0,1147868495\n3,6,4.5,1147869000\n"
                   "3,2,1.0,1147879000\n",
    "movies.csv": "movieId,title,genres\n1,Toy Box (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
                  "2,\"Beta, The (1995)\",Drama|Romance\n3,Silent Reel (1921),(no genres listed)\n"
                  "4,\"Quote \"\"Unquote\"\" (2001)\",Comedy\n5,Gamma (1977),Sci-Fi\n6,Gamma (1977),Sci-Fi|IMAX\n",
}


def write(folder: Path, files: dict, encoding: str = "latin-1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder
