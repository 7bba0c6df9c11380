CREATE TABLE "offers" (
	"title_id" text NOT NULL,
	"kind" text NOT NULL,
	"quality" text NOT NULL,
	"price_minor" integer NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	CONSTRAINT "offers_title_id_kind_quality_pk" PRIMARY KEY("title_id","kind","quality"),
	CONSTRAINT "offers_kind_check" CHECK ("offers"."kind" in ('buy','rent')),
	CONSTRAINT "offers_quality_check" CHECK ("offers"."quality" in ('SD','HD','4K')),
	CONSTRAINT "offers_price_check" CHECK ("offers"."price_minor" >= 0)
);
--> statement-breakpoint
CREATE TABLE "titles" (
	"id" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"year" smallint NOT NULL,
	"genres" text[] DEFAULT '{}'::text[] NOT NULL,
	"runtime_min" smallint NOT NULL,
	"age_rating" text NOT NULL,
	"synopsis" text DEFAULT '' NOT NULL,
	"cast" text[] DEFAULT '{}'::text[] NOT NULL,
	"director" text DEFAULT '' NOT NULL,
	"poster_svg" text,
	"status" text DEFAULT 'published' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "titles_status_check" CHECK ("titles"."status" in ('draft','in_review','published','withdrawn')),
	CONSTRAINT "titles_age_rating_check" CHECK ("titles"."age_rating" in ('G','PG','PG-13','R','NC-17'))
);
--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_title_id_titles_id_fk" FOREIGN KEY ("title_id") REFERENCES "public"."titles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "titles_status_idx" ON "titles" USING btree ("status");